/** A body larger than the route accepts. */
export class BodyTooLargeError extends Error {
	override name = 'BodyTooLargeError'
}

/** Reads a request body as text, refusing (without reading further) once it passes `maxBytes`. */
export async function readTextCapped(request: Request, maxBytes: number): Promise<string> {
	if (!request.body) return ''
	const declared = Number(request.headers.get('content-length') ?? NaN)
	if (declared > maxBytes) throw new BodyTooLargeError()
	const reader = request.body.getReader()
	const chunks: Uint8Array[] = []
	let size = 0
	for (;;) {
		const { done, value } = await reader.read()
		if (done) break
		size += value.byteLength
		if (size > maxBytes) {
			await reader.cancel()
			throw new BodyTooLargeError()
		}
		chunks.push(value)
	}
	return Buffer.concat(chunks).toString('utf8')
}
