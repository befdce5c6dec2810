import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { directRoutes, type DirectRoute } from '#app/direct-routes.server.ts'
import { CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, newCsrfToken } from './csrf.server.ts'
import { createHttpApp } from './http-app.server.ts'

// The HTTP layer hands a few POST endpoints their body as the socket's stream, without Remix
// (decision 014), on a real socket here: only after its own checks, and only when it did not read
// the body itself. The handlers below are this test's own, the routes table the app's.

type Seen = { path: string; params: string[]; bodyText: string; hasFetchBody: boolean; contentType: string | null }
const seen: Seen[] = []
const remixSaw: string[] = []
const routes: DirectRoute[] = [
	{
		pattern: /^\/direct\/([^/]+)$/,
		handle: async (request, body: Readable, params) => {
			const chunks: Buffer[] = []
			for await (const chunk of body) chunks.push(chunk as Buffer)
			seen.push({
				path: new URL(request.url).pathname,
				params,
				bodyText: Buffer.concat(chunks).toString('utf8'),
				hasFetchBody: request.body !== null,
				contentType: request.headers.get('content-type'),
			})
			return new Response('direct', { status: 201, headers: { 'X-Direct': '1' } })
		},
	},
	{
		pattern: /^\/thrown$/,
		handle: async () => {
			throw new Response(null, { status: 302, headers: { Location: '/login' } })
		},
	},
]

let server: http.Server
let base = ''
const token = newCsrfToken()
const cookie = `${CSRF_COOKIE}=${token}`

beforeAll(async () => {
	const app = createHttpApp({
		env: { NODE_ENV: 'production', APP_URL: 'https://renzo.example', TRUST_PROXY: false },
		handleRemix: async (request) => {
			remixSaw.push(`${request.method} ${new URL(request.url).pathname}`)
			return new Response('remix')
		},
		directRoutes: () => routes,
	})
	server = http.createServer(app)
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))
beforeEach(() => {
	seen.length = 0
	remixSaw.length = 0
})

const multipart = (text: string) => {
	const form = new FormData()
	form.set('file', new Blob([text], { type: 'image/jpeg' }), 'a.jpg')
	return form
}

describe('direct routes in the HTTP layer', () => {
	test('a checked multipart POST reaches its handler with the untouched body stream; Remix never sees it', async () => {
		const response = await fetch(`${base}/direct/abc`, {
			method: 'POST',
			headers: { cookie, [CSRF_HEADER]: token },
			body: multipart('les octets du fichier'),
		})
		expect(response.status).toBe(201)
		expect(response.headers.get('x-direct')).toBe('1')
		// The HTTP layer's own headers are on the answer too.
		expect(response.headers.get('x-content-type-options')).toBe('nosniff')
		expect(seen).toHaveLength(1)
		expect(seen[0]).toMatchObject({ path: '/direct/abc', params: ['abc'], hasFetchBody: false })
		expect(seen[0]!.contentType).toMatch(/^multipart\/form-data; boundary=/)
		expect(seen[0]!.bodyText).toContain('les octets du fichier')
		expect(remixSaw).toEqual([])
	})

	test('the CSRF and origin checks still come first', async () => {
		const missing = await fetch(`${base}/direct/abc`, { method: 'POST', headers: { cookie }, body: multipart('x') })
		expect(missing.status).toBe(403)
		const crossSite = await fetch(`${base}/direct/abc`, {
			method: 'POST',
			headers: { cookie, [CSRF_HEADER]: token, origin: 'https://evil.example' },
			body: multipart('x'),
		})
		expect(crossSite.status).toBe(403)
		expect(seen).toEqual([])
		expect(remixSaw).toEqual([])
	})

	test('a body the HTTP layer read (a form) and other methods go to Remix', async () => {
		const form = await fetch(`${base}/direct/abc`, {
			method: 'POST',
			headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ [CSRF_FIELD]: token, a: '1' }),
		})
		expect(await form.text()).toBe('remix')
		const get = await fetch(`${base}/direct/abc`, { headers: { cookie } })
		expect(await get.text()).toBe('remix')
		expect(remixSaw).toEqual(['POST /direct/abc', 'GET /direct/abc'])
		expect(seen).toEqual([])
	})

	test('a thrown Response is the answer, as in Remix', async () => {
		const response = await fetch(`${base}/thrown`, {
			method: 'POST',
			headers: { cookie, [CSRF_HEADER]: token },
			body: multipart('x'),
			redirect: 'manual',
		})
		expect(response.status).toBe(302)
		expect(response.headers.get('location')).toBe('/login')
	})
})

describe("the app's direct routes", () => {
	test('are the upload and the Replicate webhook, each with its Remix route answering the same', async () => {
		const match = (path: string) => directRoutes.find((route) => route.pattern.test(path))
		expect(match('/projects/7d0b1f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b/upload')).toBeDefined()
		expect(match('/webhooks/replicate')).toBeDefined()
		expect(match('/projects/x/upload/more')).toBeUndefined()
		expect(match('/webhooks/stripe')).toBeUndefined()
		// The Remix routes of the same paths exist (development and direct callers go through them).
		await expect(import('#app/routes/projects+/$projectId_.upload.ts')).resolves.toHaveProperty('action')
		await expect(import('#app/routes/webhooks+/replicate.ts')).resolves.toHaveProperty('action')
	})
})
