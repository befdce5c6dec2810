/** Security headers for every response (decision 006). The nonce lets our own scripts run. */
export function securityHeaders(options: { nonce: string; production: boolean; https: boolean }): Record<string, string> {
	const { nonce, production, https } = options
	const csp = [
		`default-src 'self'`,
		`script-src 'self' 'nonce-${nonce}'${production ? '' : ` 'unsafe-eval'`}`,
		// Vite injects <style> tags in development only.
		`style-src 'self'${production ? '' : ` 'unsafe-inline'`}`,
		`img-src 'self' data: blob:`,
		`font-src 'self'`,
		`connect-src 'self'${production ? '' : ' ws: wss:'}`,
		`frame-ancestors 'none'`,
		`base-uri 'self'`,
		`form-action 'self'`,
		`object-src 'none'`,
		...(https ? ['upgrade-insecure-requests'] : []),
	].join('; ')
	return {
		'Content-Security-Policy': csp,
		'X-Content-Type-Options': 'nosniff',
		'X-Frame-Options': 'DENY',
		'Referrer-Policy': 'strict-origin-when-cross-origin',
		'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
		'Cross-Origin-Opener-Policy': 'same-origin',
		// Only when served over https (a production run on http://localhost must keep working).
		...(production && https ? { 'Strict-Transport-Security': 'max-age=63072000; includeSubDomains' } : {}),
	}
}
