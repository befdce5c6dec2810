import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createHttpApp } from './http-app.server.ts'

// The HTTP layer in front of Remix, on a real socket. The Remix handler here only records
// what reached it: the point is what server.ts lets through, not what Remix does.
const seen: { method: string; body: string }[] = []
let base = ''
let server: http.Server

beforeAll(async () => {
	const app = createHttpApp({
		env: { NODE_ENV: 'production', APP_URL: 'https://renzo.example', TRUST_PROXY: false },
		handleRemix: async (request) => {
			seen.push({ method: request.method, body: await request.text() })
			return new Response('<p>ok</p>', { headers: { 'Content-Type': 'text/html', 'Set-Cookie': 'a=1; Path=/' } })
		},
	})
	server = http.createServer(app)
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

async function csrfToken() {
	const response = await fetch(`${base}/`)
	const cookie = response.headers.getSetCookie().find((c) => c.startsWith('__csrf='))!
	return cookie.split(';')[0]!.slice('__csrf='.length)
}

describe('HTTP layer', () => {
	test('security headers and cookies on every page', async () => {
		const response = await fetch(`${base}/login`)
		const csp = response.headers.get('content-security-policy')!
		expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/)
		expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/)
		expect(csp).toContain("frame-ancestors 'none'")
		expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/)
		expect(response.headers.get('x-frame-options')).toBe('DENY')
		expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
		expect(response.headers.get('x-content-type-options')).toBe('nosniff')
		expect(response.headers.get('x-powered-by')).toBeNull()
		const cookies = response.headers.getSetCookie()
		expect(cookies.find((c) => c.startsWith('__csrf='))).toMatch(/HttpOnly; SameSite=Lax; Secure/)
		expect(cookies).toContain('a=1; Path=/')
	})

	test('a nonce is fresh for every request', async () => {
		const nonce = async () => /nonce-([^']+)'/.exec((await fetch(`${base}/`)).headers.get('content-security-policy')!)![1]
		expect(await nonce()).not.toBe(await nonce())
	})

	test('a mutation without the CSRF token is refused before any route runs', async () => {
		const token = await csrfToken()
		seen.length = 0
		const noToken = await fetch(`${base}/settings`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `__csrf=${token}` },
			body: 'intent=logout-all',
		})
		expect(noToken.status).toBe(403)
		expect(await noToken.text()).toContain('Le formulaire a expiré')
		const wrongToken = await fetch(`${base}/settings`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `__csrf=${token}` },
			body: `intent=logout-all&csrf=${'x'.repeat(43)}`,
		})
		expect(wrongToken.status).toBe(403)
		const noCookie = await fetch(`${base}/settings`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
			body: `csrf=${token}`,
		})
		expect(noCookie.status).toBe(403)
		// A multipart body is never read for the token: it must come in the header or the URL.
		const multipart = new FormData()
		multipart.set('csrf', token)
		expect((await fetch(`${base}/upload`, { method: 'POST', headers: { Cookie: `__csrf=${token}` }, body: multipart })).status).toBe(403)
		expect(
			(await fetch(`${base}/upload?csrf=wrong`, { method: 'POST', headers: { Cookie: `__csrf=${token}` }, body: multipart })).status,
		).toBe(403)
		expect(seen).toHaveLength(0)
	})

	test('a mutation with the token reaches the route with its body intact', async () => {
		const token = await csrfToken()
		seen.length = 0
		const ok = await fetch(`${base}/settings`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `__csrf=${token}` },
			body: `intent=logout-others&csrf=${token}&note=${encodeURIComponent('déjà')}`,
		})
		expect(ok.status).toBe(200)
		expect(seen).toEqual([{ method: 'POST', body: `intent=logout-others&csrf=${token}&note=${encodeURIComponent('déjà')}` }])
		const multipart = new FormData()
		multipart.set('photo', new Blob(['x']), 'x.jpg')
		expect(
			(await fetch(`${base}/upload?csrf=${token}`, { method: 'POST', headers: { Cookie: `__csrf=${token}` }, body: multipart })).status,
		).toBe(200)
		const viaHeader = await fetch(`${base}/x`, {
			method: 'POST',
			headers: { 'X-CSRF-Token': token, Cookie: `__csrf=${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
			body: 'a=1',
		})
		expect(viaHeader.status).toBe(200)
		// Pages take forms only: JSON or text with a valid token is refused before any route (a route's
		// formData() would fail as a 500); an empty body is not a form problem.
		const seenBefore = seen.length
		for (const type of ['application/json', 'text/plain', '']) {
			const notAForm = await fetch(`${base}/x`, {
				method: 'POST',
				headers: { 'X-CSRF-Token': token, Cookie: `__csrf=${token}`, ...(type ? { 'Content-Type': type } : {}) },
				body: type ? '{"intent":"create"}' : new Uint8Array([123, 125]),
			})
			expect(notAForm.status, type).toBe(415)
			expect(await notAForm.text()).toContain('Les pages de Renzo n’acceptent que des formulaires')
		}
		expect(seen).toHaveLength(seenBefore)
		expect((await fetch(`${base}/x`, { method: 'POST', headers: { 'X-CSRF-Token': token, Cookie: `__csrf=${token}` } })).status).toBe(200)
	})

	test('a mutation from another origin is refused even with a valid token', async () => {
		const token = await csrfToken()
		const response = await fetch(`${base}/settings`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `__csrf=${token}`, Origin: 'https://evil.example' },
			body: `csrf=${token}`,
		})
		expect(response.status).toBe(403)
	})

	test('oversized form and JSON bodies get 413', async () => {
		const token = await csrfToken()
		const big = `csrf=${token}&text=${'a'.repeat(70 * 1024)}`
		const form = await fetch(`${base}/settings`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `__csrf=${token}` },
			body: big,
		})
		expect(form.status).toBe(413)
		const json = await fetch(`${base}/x`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', Cookie: `__csrf=${token}`, 'X-CSRF-Token': token },
			body: JSON.stringify({ text: 'a'.repeat(70 * 1024) }),
		})
		expect(json.status).toBe(413)
	})

	test('/healthz reports the database and the queue', async () => {
		const response = await fetch(`${base}/healthz`)
		expect(response.status).toBe(200)
		expect(await response.json()).toEqual({ status: 'ok', db: 'ok', queue: 'ok' })
	})

	test('the client address comes from the socket unless a proxy is trusted', async () => {
		let ip: string | null = null
		const app = createHttpApp({
			env: { NODE_ENV: 'production', APP_URL: 'https://renzo.example', TRUST_PROXY: false },
			handleRemix: async (request) => {
				ip = request.headers.get('x-renzo-client-ip')
				return new Response('ok')
			},
		})
		const local = http.createServer(app)
		await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve))
		await fetch(`http://127.0.0.1:${(local.address() as AddressInfo).port}/`, {
			headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Renzo-Client-Ip': '198.51.100.1' },
		})
		await new Promise<void>((resolve) => local.close(() => resolve()))
		expect(ip).toBe('127.0.0.1')
	})
})

describe('streamed bodies', () => {
	test('a client that leaves mid-download ends the source quietly (no uncaught error), with backpressure before that', async () => {
		const { Readable } = await import('node:stream')
		const { createReadableStreamFromReadable } = await import('@remix-run/node')
		let produced = 0
		let destroyed: unknown = 'not destroyed'
		// A never-ending source, like a big file on a slow link.
		const source = new Readable({
			read() {
				produced++
				this.push(Buffer.alloc(64 * 1024, 1))
			},
			destroy(error, callback) {
				destroyed = error
				callback(error)
			},
		})
		const app = createHttpApp({
			env: { NODE_ENV: 'production', APP_URL: 'https://renzo.example', TRUST_PROXY: false },
			handleRemix: async () => new Response(createReadableStreamFromReadable(source), { headers: { 'Content-Type': 'application/zip' } }),
		})
		const streaming = http.createServer(app)
		await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', resolve))
		const port = (streaming.address() as AddressInfo).port
		await new Promise<void>((resolve, reject) => {
			const request = http.get({ host: '127.0.0.1', port, path: '/big.zip' }, (response) => {
				response.once('data', () => {
					// Read one chunk, pause (the server must stop reading the source), then leave.
					response.pause()
					setTimeout(() => {
						request.destroy()
						resolve()
					}, 300)
				})
			})
			request.on('error', (error) => (request.destroyed ? undefined : reject(error)))
		})
		const producedWhilePaused = produced
		await new Promise((resolve) => setTimeout(resolve, 300))
		expect(destroyed).toBeNull()
		// Backpressure: a paused client held the source to a few socket buffers, not megabytes.
		expect(producedWhilePaused * 64 * 1024).toBeLessThan(16 * 1024 * 1024)
		await new Promise<void>((resolve) => streaming.close(() => resolve()))
	})
})
