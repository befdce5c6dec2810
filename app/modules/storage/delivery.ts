/** How stored files reach browsers: download names, cache windows, cache headers (shared by both drivers). */

/** Cache-Control of originals and of anything not marked cacheable. */
export const PRIVATE_CACHE_CONTROL = 'private, no-store'

/** Cache-Control of a cacheable URL, valid for `maxAgeSeconds` more. */
export function publicCacheControl(maxAgeSeconds: number) {
	return `public, max-age=${Math.max(0, Math.floor(maxAgeSeconds))}, immutable`
}

/**
 * The window a cacheable URL belongs to: windows are `ttlSeconds` long and a URL signed in one
 * expires at the end of the NEXT one, so every URL signed within a window is identical (a CDN
 * caches it) and still valid for more than `ttlSeconds`.
 */
export function cacheWindow(ttlSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)) {
	const start = Math.floor(nowSeconds / ttlSeconds) * ttlSeconds
	return { start, expiresAt: start + 2 * ttlSeconds }
}

/** Validates a URL lifetime in seconds (a positive integer). */
export function assertTtl(seconds: number) {
	if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`expiresInSeconds must be a positive integer, got ${seconds}`)
	return seconds
}

/** A download name without control characters, slashes or surrounding spaces (never empty). */
export function cleanDownloadName(name: string) {
	const cleaned = name
		.normalize('NFC')
		.replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
		.replace(/[/\\]/g, '_')
		.trim()
	return cleaned === '' ? 'fichier' : cleaned
}

/**
 * `attachment` with an ASCII fallback `filename` (accents stripped, quotes replaced) and the exact
 * name in RFC 5987 `filename*`: safe for any input, newlines included (they are removed).
 */
export function contentDisposition(name: string) {
	const cleaned = cleanDownloadName(name)
	const ascii = cleaned
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.replace(/"/g, "'")
		.replace(/[^\x20-\x7e]/g, '_')
	const encoded = encodeURIComponent(cleaned).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
	return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

const CONTENT_TYPES: Record<string, string> = {
	jpg: 'image/jpeg',
	jpeg: 'image/jpeg',
	png: 'image/png',
	webp: 'image/webp',
	heic: 'image/heic',
	heif: 'image/heif',
	avif: 'image/avif',
	gif: 'image/gif',
	json: 'application/json',
	txt: 'text/plain; charset=utf-8',
}

/** The Content-Type the local driver serves for `key`, from its extension (every key of keys.ts has one). */
export function contentTypeForKey(key: string) {
	const ext = /\.([A-Za-z0-9]+)$/.exec(key)?.[1]?.toLowerCase()
	return (ext && CONTENT_TYPES[ext]) ?? 'application/octet-stream'
}
