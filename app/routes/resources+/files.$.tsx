import { createReadableStreamFromReadable, type LoaderFunctionArgs } from '@remix-run/node'
import { contentDisposition, PRIVATE_CACHE_CONTROL, publicCacheControl } from '#app/modules/storage/delivery.ts'
import { getStorage, verifySignedPath } from '#app/modules/storage/storage.server.ts'

/**
 * Serves a file of the local storage driver through a URL minted by storage.signedUrl. No session
 * on purpose: the HMAC signature is the authorisation, and URLs are minted only after the caller
 * checked ownership (decision 007). Every failure is the same 404, so nothing leaks.
 */
export async function loader({ request }: LoaderFunctionArgs) {
	const signed = verifySignedPath(new URL(request.url))
	const storage = getStorage()
	if (!signed || storage.driver !== 'local') throw notFound()
	const object = await storage.get(signed.key)
	if (!object) throw notFound()
	const headers = new Headers({
		'Content-Type': object.contentType,
		'Content-Length': String(object.size),
		'X-Content-Type-Options': 'nosniff',
		// User content: never a document that could run anything if opened directly.
		'Content-Security-Policy': "default-src 'none'; sandbox",
		'Cache-Control': signed.cacheable ? publicCacheControl(signed.expiresAt - Date.now() / 1000) : PRIVATE_CACHE_CONTROL,
	})
	if (signed.downloadName) headers.set('Content-Disposition', contentDisposition(signed.downloadName))
	if (request.method === 'HEAD') {
		object.body.destroy()
		return new Response(null, { headers })
	}
	return new Response(createReadableStreamFromReadable(object.body), { headers })
}

function notFound() {
	return new Response('Fichier introuvable ou lien expiré.', {
		status: 404,
		headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' },
	})
}
