/**
 * Where each file lives in storage (the study §5): everything under the user id, then the
 * project id, so that deleting a project or an account is a handful of prefix deletions.
 */
export const storageKeys = {
	original: (userId: string, projectId: string, photoId: string, ext: 'jpg' | 'png' | 'webp' | 'heic') =>
		`${userId}/originals/${projectId}/${photoId}.${ext}`,
	variant: (userId: string, projectId: string, photoId: string, kind: 'thumbnail' | 'preview') =>
		`${userId}/${kind === 'thumbnail' ? 'thumbnails' : 'previews'}/${projectId}/${photoId}.webp`,
	transformed: (userId: string, projectId: string, transformationId: string, ext: string) =>
		`${userId}/transformed/${projectId}/${transformationId}.${ext}`,
	styleExample: (userId: string, styleId: string, ext: string) => `${userId}/styles/${styleId}.${ext}`,
	/** A GDPR export archive (deleted once expired). */
	exportArchive: (userId: string, exportId: string) => `${userId}/exports/${exportId}.zip`,
	user: (userId: string) => `${userId}/`,
	/** Every prefix that holds a project's files (for deleting a project). */
	project: (userId: string, projectId: string) => [
		`${userId}/originals/${projectId}/`,
		`${userId}/thumbnails/${projectId}/`,
		`${userId}/previews/${projectId}/`,
		`${userId}/transformed/${projectId}/`,
	],
}

/** Thrown, before any disk or network access, for a key or prefix that could escape its place. */
export class UnsafeKeyError extends Error {
	override name = 'UnsafeKeyError'
}

const KEY_CHARACTERS = /^[A-Za-z0-9._/-]+$/
const MAX_KEY_LENGTH = 1024 // S3's limit, in bytes (our keys are ASCII)

/** Why `key` is unsafe, or null. A trailing '/' is allowed here (prefixes); see assertObjectKey/assertPrefix. */
function unsafeReason(key: string): string | null {
	if (typeof key !== 'string' || key === '') return 'empty'
	if (key.length > MAX_KEY_LENGTH) return 'too long'
	if (!KEY_CHARACTERS.test(key)) return 'characters outside [A-Za-z0-9._/-]'
	if (key.startsWith('/')) return 'absolute'
	const segments = key.split('/')
	for (const [index, segment] of segments.entries()) {
		if (segment === '' && index !== segments.length - 1) return 'empty segment'
		// Covers '.' and '..', and keeps names like '.tmp' free for the local driver's own use.
		if (segment.startsWith('.')) return 'segment starting with a dot'
	}
	return null
}

/** Throws UnsafeKeyError unless `key` is a relative path of [A-Za-z0-9._-] segments (no '', '.', '..', '//', '\', control characters). */
export function assertSafeKey(key: string): void {
	const reason = unsafeReason(key)
	if (reason) throw new UnsafeKeyError(`Unsafe storage key (${reason}): ${JSON.stringify(String(key).slice(0, 200))}`)
}

/** A safe key that names an object (not ending with '/'). */
export function assertObjectKey(key: string): void {
	assertSafeKey(key)
	if (key.endsWith('/')) throw new UnsafeKeyError(`A storage key must not end with '/': ${JSON.stringify(key)}`)
}

/** A safe prefix (ending with '/', so that 'u1/' never matches 'u10/'). */
export function assertPrefix(prefix: string): void {
	assertSafeKey(prefix)
	if (!prefix.endsWith('/')) throw new UnsafeKeyError(`A storage prefix must end with '/': ${JSON.stringify(prefix)}`)
}

/** True when `key` names an object and passes assertSafeKey. */
export function isObjectKey(key: string): boolean {
	return unsafeReason(key) === null && !key.endsWith('/')
}
