import type { Env } from './env.server.ts'

/** Other origins the pages legitimately use: the image storage (S3 presigned URLs) and Stripe's pages. */
export type ExternalOrigins = { images: string[]; forms: string[] }

/** The external origins implied by the configuration. */
export function externalOrigins(
	env: Partial<Pick<Env, 'S3_BUCKET' | 'S3_ENDPOINT' | 'S3_FORCE_PATH_STYLE' | 'STRIPE_API_URL'>>,
): ExternalOrigins {
	const images: string[] = []
	if (env.S3_BUCKET && env.S3_ENDPOINT) {
		const endpoint = new URL(env.S3_ENDPOINT)
		// Presigned URLs: path style on the endpoint, or virtual-host style on bucket.endpoint.
		images.push(env.S3_FORCE_PATH_STYLE ? endpoint.origin : `${endpoint.protocol}//${env.S3_BUCKET}.${endpoint.host}`)
	}
	// Buying and the customer portal are plain form posts redirected to Stripe-hosted pages.
	const forms = ['https://checkout.stripe.com', 'https://billing.stripe.com']
	const stripeApi = new URL(env.STRIPE_API_URL ?? 'https://api.stripe.com').origin
	if (stripeApi !== 'https://api.stripe.com') forms.push(stripeApi)
	return { images, forms }
}

/** Security headers for every response (decision 006). The nonce lets our own scripts run. */
export function securityHeaders(options: {
	nonce: string
	production: boolean
	https: boolean
	external?: ExternalOrigins
}): Record<string, string> {
	const { nonce, production, https } = options
	const extra = (origins: string[] | undefined) => (origins?.length ? ` ${origins.join(' ')}` : '')
	const csp = [
		`default-src 'self'`,
		`script-src 'self' 'nonce-${nonce}'${production ? '' : ` 'unsafe-eval'`}`,
		// Vite injects <style> tags in development only.
		`style-src 'self'${production ? '' : ` 'unsafe-inline'`}`,
		`img-src 'self' data: blob:${extra(options.external?.images)}`,
		`font-src 'self'`,
		`connect-src 'self'${production ? '' : ' ws: wss:'}`,
		`frame-ancestors 'none'`,
		`base-uri 'self'`,
		`form-action 'self'${extra(options.external?.forms)}`,
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
