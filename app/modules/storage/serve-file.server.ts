import type { Readable } from 'node:stream'
import { contentDisposition, PRIVATE_CACHE_CONTROL, publicCacheControl } from './delivery.ts'
import { getStorage, verifySignedPath } from './storage.server.ts'

/** What to answer for a signed file URL; a Readable body must be consumed or destroyed (it holds a file handle). */
export type SignedFileAnswer = { status: number; headers: Record<string, string>; body: Readable | string | null }

/**
 * Answers a URL minted by the local driver's signedUrl (the Express layer and the Remix route
 * both serve through it). No session on purpose: the HMAC signature is the authorisation, and
 * URLs are minted only after the caller checked ownership (decision 007). Every failure is the
 * same 404, so nothing leaks; another driver (S3 signs its own URLs) always gets that 404.
 */
export async function signedFile(url: URL, method: string): Promise<SignedFileAnswer> {
	const signed = verifySignedPath(url)
	const storage = getStorage()
	if (!signed || storage.driver !== 'local') return notFound()
	const object = await storage.get(signed.key)
	if (!object) return notFound()
	const headers: Record<string, string> = {
		'Content-Type': object.contentType,
		'Content-Length': String(object.size),
		'X-Content-Type-Options': 'nosniff',
		// User content: never a document that could run anything if opened directly.
		'Content-Security-Policy': "default-src 'none'; sandbox",
		'Cache-Control': signed.cacheable ? publicCacheControl(signed.expiresAt - Date.now() / 1000) : PRIVATE_CACHE_CONTROL,
	}
	if (signed.downloadName) headers['Content-Disposition'] = contentDisposition(signed.downloadName)
	if (method === 'HEAD') {
		object.body.destroy()
		return { status: 200, headers, body: null }
	}
	return { status: 200, headers, body: object.body }
}

function notFound(): SignedFileAnswer {
	return {
		status: 404,
		headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' },
		body: 'Fichier introuvable ou lien expiré.',
	}
}
