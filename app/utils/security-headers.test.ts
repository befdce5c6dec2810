import { describe, expect, test } from 'vitest'
import { externalOrigins, securityHeaders } from './security-headers.server.ts'

const base = { S3_BUCKET: undefined, S3_ENDPOINT: undefined, S3_FORCE_PATH_STYLE: false, STRIPE_API_URL: 'https://api.stripe.com' }

describe('content security policy origins', () => {
	test('S3 images are allowed from the bucket’s presigned origin; Stripe pages as form targets', () => {
		expect(externalOrigins(base)).toEqual({ images: [], forms: ['https://checkout.stripe.com', 'https://billing.stripe.com'] })
		const b2 = externalOrigins({ ...base, S3_BUCKET: 'renzo-photos', S3_ENDPOINT: 'https://s3.eu-central-003.backblazeb2.com' })
		expect(b2.images).toEqual(['https://renzo-photos.s3.eu-central-003.backblazeb2.com'])
		const pathStyle = externalOrigins({ ...base, S3_BUCKET: 'b', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: true })
		expect(pathStyle.images).toEqual(['http://127.0.0.1:9000'])
		expect(externalOrigins({ ...base, STRIPE_API_URL: 'http://127.0.0.1:12111' }).forms).toContain('http://127.0.0.1:12111')
	})

	test('the header lists them in img-src and form-action only', () => {
		const csp = securityHeaders({
			nonce: 'n',
			production: true,
			https: true,
			external: { images: ['https://img.example'], forms: ['https://checkout.stripe.com'] },
		})['Content-Security-Policy']
		expect(csp).toContain("img-src 'self' data: blob: https://img.example;")
		expect(csp).toContain("form-action 'self' https://checkout.stripe.com;")
		expect(csp).toContain("default-src 'self';")
		expect(csp).toContain("script-src 'self' 'nonce-n';")
	})
})
