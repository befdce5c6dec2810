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

/** A webhook's raw body (signatures are computed on it), or the answer to give: 405 for a non-POST, 413 past `maxBytes`. */
export async function webhookBody(request: Request, maxBytes: number): Promise<{ rawBody: string } | { refusal: Response }> {
	if (request.method !== 'POST') return { refusal: new Response(null, { status: 405, headers: { Allow: 'POST' } }) }
	try {
		return { rawBody: await readTextCapped(request, maxBytes) }
	} catch (error) {
		if (error instanceof BodyTooLargeError) return { refusal: new Response('payload too large', { status: 413 }) }
		throw error
	}
}

/**
 * Reads a body nobody wants and throws the bytes away, in the background, up to `maxBytes`
 * (past that the request is cancelled). For an early refusal: a browser still sending a file
 * only reports the answer once its upload went through.
 */
export function discardBody(request: Request, maxBytes: number) {
	if (!request.body || request.bodyUsed) return
	const reader = request.body.getReader()
	void (async () => {
		let size = 0
		for (;;) {
			const { done, value } = await reader.read()
			if (done) return
			size += value.byteLength
			if (size > maxBytes) return reader.cancel()
		}
	})().catch(() => {})
}
