import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'

/** A body larger than the route accepts. */
export class BodyTooLargeError extends Error {
	override name = 'BodyTooLargeError'
}

/**
 * Reads a request body as text, refusing (without reading further) once it passes `maxBytes`.
 * `body`: the body as a Node stream when the HTTP layer handed it over so (decision 014).
 */
async function readTextCapped(request: Request, maxBytes: number, body: Readable | null = nodeBody(request)): Promise<string> {
	if (!body) return ''
	const declared = Number(request.headers.get('content-length') ?? NaN)
	if (declared > maxBytes) throw new BodyTooLargeError()
	// Listeners, not for-await: a refusal stops reading WITHOUT destroying the stream (when it is
	// the socket's, destroying it would lose the 413; the HTTP layer closes the connection instead).
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = []
		let size = 0
		const stop = () => {
			body.off('data', onData).off('end', onEnd).off('error', reject)
			body.pause()
		}
		const onData = (chunk: Buffer) => {
			size += chunk.length
			if (size <= maxBytes) return void chunks.push(chunk)
			stop()
			reject(new BodyTooLargeError())
		}
		const onEnd = () => {
			stop()
			resolve(Buffer.concat(chunks).toString('utf8'))
		}
		body.on('data', onData).on('end', onEnd).on('error', reject)
	})
}

/** A webhook's raw body (signatures are computed on it), or the answer to give: 405 for a non-POST, 413 past `maxBytes`. */
export async function webhookBody(
	request: Request,
	maxBytes: number,
	body: Readable | null = nodeBody(request),
): Promise<{ rawBody: string } | { refusal: Response }> {
	if (request.method !== 'POST') return { refusal: new Response(null, { status: 405, headers: { Allow: 'POST' } }) }
	try {
		return { rawBody: await readTextCapped(request, maxBytes, body) }
	} catch (error) {
		if (error instanceof BodyTooLargeError) return { refusal: new Response('payload too large', { status: 413 }) }
		throw error
	}
}

/** A fetch Request's body as a Node stream (null without one). */
export function nodeBody(request: Request): Readable | null {
	return request.body ? Readable.fromWeb(request.body as WebReadableStream) : null
}

/**
 * Reads a body nobody wants and throws the bytes away, in the background, up to `maxBytes` (past
 * that the stream is destroyed). For an early refusal: a browser still sending a file only reports
 * the answer once its upload went through.
 */
export function discardStream(body: Readable, maxBytes: number) {
	let size = 0
	body.on('data', (chunk: Buffer) => {
		size += chunk.length
		if (size > maxBytes) body.destroy()
	})
	body.on('error', () => {})
}
