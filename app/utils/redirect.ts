/**
 * A same-site path to redirect to, or `fallback`: refuses absolute URLs, protocol-relative
 * `//host`, backslash tricks and control characters (open redirects).
 */
export function safeRedirect(to: FormDataEntryValue | string | null | undefined, fallback = '/') {
	if (typeof to !== 'string' || !to.startsWith('/') || to.startsWith('//') || to.startsWith('/\\')) return fallback
	if (/[\u0000-\u001f\\]/.test(to)) return fallback
	try {
		const url = new URL(to, 'http://renzo.invalid')
		return url.host === 'renzo.invalid' ? `${url.pathname}${url.search}${url.hash}` : fallback
	} catch {
		return fallback
	}
}
