import crypto from 'node:crypto'
import Stripe from 'stripe'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { privileged } from '#app/utils/db.server.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { latestLoginEmail } from '#tests/utils/mail.ts'
import { startRealApp } from '#tests/utils/real-app.ts'
import { WebClient } from '#tests/utils/web-client.ts'

// Headers and cookies of the real app over HTTP, in production mode behind an https APP_URL (as
// on Fly): an HTML page, a JSON route and a webhook all carry the same headers; the CSP nonce is
// new for every request and is the one on the page's scripts; the cookies are locked down.
const PRODUCTION = {
	NODE_ENV: 'production',
	APP_URL: 'https://renzo.example',
	// The test database's application role was derived from this secret (decision 003): keep it.
	SESSION_SECRET: 'dev-only-session-secret-not-for-production-use',
	SMTP_URL: 'smtp://127.0.0.1:9',
	STRIPE_SECRET_KEY: 'sk_test_headers',
	STRIPE_WEBHOOK_SECRET: 'whsec_headers_test',
	STRIPE_API_URL: 'http://127.0.0.1:9',
}
const saved: Record<string, string | undefined> = {}
let app: Awaited<ReturnType<typeof startRealApp>>

beforeAll(async () => {
	app = await startRealApp({ httpEnv: { NODE_ENV: 'production', APP_URL: PRODUCTION.APP_URL } })
	for (const [name, value] of Object.entries(PRODUCTION)) {
		saved[name] = process.env[name]
		process.env[name] = value
	}
	await app.reloadEnv()
})
afterAll(async () => {
	for (const [name, value] of Object.entries(saved)) {
		if (value === undefined) delete process.env[name]
		else process.env[name] = value
	}
	await app?.reloadEnv()
	await app?.close()
})

const nonceOf = (response: Response) => /'nonce-([^']+)'/.exec(response.headers.get('content-security-policy') ?? '')?.[1]

/** The headers every response must carry, whatever produced it. */
function expectSecurityHeaders(response: Response) {
	const csp = response.headers.get('content-security-policy') ?? ''
	const directive = (name: string) =>
		csp
			.split(';')
			.map((part) => part.trim())
			.find((part) => part.startsWith(`${name} `)) ?? ''
	expect(directive('script-src')).toMatch(/^script-src 'self' 'nonce-[A-Za-z0-9+/]{22}=='$/)
	expect(directive('script-src')).not.toContain('unsafe-inline')
	expect(directive('script-src')).not.toContain('unsafe-eval')
	expect(directive('style-src')).not.toContain('unsafe-inline')
	expect(directive('frame-ancestors')).toBe("frame-ancestors 'none'")
	expect(directive('object-src')).toBe("object-src 'none'")
	expect(directive('base-uri')).toBe("base-uri 'self'")
	expect(response.headers.get('x-frame-options')).toBe('DENY')
	expect(response.headers.get('x-content-type-options')).toBe('nosniff')
	expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
	expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=(\d+); includeSubDomains$/)
	expect(Number(/max-age=(\d+)/.exec(response.headers.get('strict-transport-security')!)![1])).toBeGreaterThanOrEqual(31_536_000)
	expect(response.headers.get('x-powered-by')).toBeNull()
}

/** A Set-Cookie header's attributes, by lower-case name. */
function cookie(response: Response, name: string) {
	const header = response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`))
	expect(header, `${name} cookie`).toBeDefined()
	const attributes = new Map(
		header!
			.split(';')
			.slice(1)
			.map((part) => {
				const [key, ...value] = part.trim().split('=')
				return [key!.toLowerCase(), value.join('=')] as const
			}),
	)
	return { header: header!, attributes }
}

function expectLockedDown(response: Response, name: string) {
	const { attributes, header } = cookie(response, name)
	expect(attributes.has('httponly'), header).toBe(true)
	expect(attributes.get('samesite')?.toLowerCase(), header).toBe('lax')
	expect(attributes.has('secure'), header).toBe(true)
	expect(attributes.get('path'), header).toBe('/')
}

describe('security headers and cookies over HTTP (production)', () => {
	test('an HTML page: every header, and a nonce that is new on each request and is the one on the page’s scripts', async () => {
		const first = await fetch(`${app.url}/login`)
		const second = await fetch(`${app.url}/login`)
		for (const response of [first, second]) {
			expect(response.status).toBe(200)
			expect(response.headers.get('content-type')).toMatch(/^text\/html/)
			expectSecurityHeaders(response)
			const html = await response.text()
			const scripts = html.match(/<script\b[^>]*>/g) ?? []
			expect(scripts.length).toBeGreaterThan(0)
			for (const tag of scripts) expect(tag).toContain(`nonce="${nonceOf(response)}"`)
			// No inline event handlers either (a nonce does not cover them).
			expect(html).not.toMatch(/\son[a-z]+="/)
		}
		expect(nonceOf(first)).not.toBe(nonceOf(second))
		// The CSRF cookie, set on the first visit: httpOnly (the page gets the token from the root loader), Lax, Secure.
		expectLockedDown(first, '__csrf')
	})

	test('a JSON route (photo upload) carries the same headers', async () => {
		const user = await loggedInUser()
		const project = await privileged().project.create({ data: { userId: user.id, name: 'Studio Lyon' }, select: { id: true } })
		const client = new WebClient(app.url, user.jar)
		const token = await client.csrf()
		const form = new FormData()
		form.append('photo', new Blob(['pas une image']), 'notes.txt')
		const response = await client.request(`/projects/${project.id}/upload`, {
			method: 'POST',
			body: form,
			headers: { Accept: 'application/json', 'X-CSRF-Token': token },
		})
		expect(response.status).toBe(422)
		expect(response.headers.get('content-type')).toMatch(/^application\/json/)
		expect((await response.json()) as unknown).toMatchObject({ files: [{ name: 'notes.txt', ok: false }] })
		expectSecurityHeaders(response)
	})

	test('a webhook route carries the same headers, refused or accepted', async () => {
		const body = JSON.stringify({
			id: `evt_${crypto.randomBytes(6).toString('hex')}`,
			object: 'event',
			type: 'customer.created',
			data: { object: {} },
		})
		const post = (signature: string) =>
			fetch(`${app.url}/webhooks/stripe`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature },
				body,
			})
		const refused = await post('t=1,v1=forged')
		expect(refused.status).toBe(400)
		expectSecurityHeaders(refused)
		const accepted = await post(Stripe.webhooks.generateTestHeaderString({ payload: body, secret: PRODUCTION.STRIPE_WEBHOOK_SECRET }))
		expect(accepted.status).toBe(200)
		expectSecurityHeaders(accepted)
	})

	test('login cookies (pending login, session): HttpOnly, SameSite=Lax, Secure, Path=/', async () => {
		const client = new WebClient(app.url)
		const email = `agent.${crypto.randomBytes(4).toString('hex')}@agence-exemple.fr`
		const asked = await client.post('/login', { email })
		expect(asked.status).toBe(302)
		expectSecurityHeaders(asked)
		expectLockedDown(asked, '__login')
		const verified = await client.post('/login/verify', { code: (await latestLoginEmail(email)).code })
		expect(verified.status).toBe(302)
		expectLockedDown(verified, '__session')
		expect(Number(cookie(verified, '__session').attributes.get('max-age'))).toBeGreaterThan(0)
		// The new session works, over the same client.
		expect((await client.get('/settings')).status).toBe(200)
	})
})
