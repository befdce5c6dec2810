import crypto from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { createStorage, getStorage, type Storage } from '#app/modules/storage/storage.server.ts'
import { loader } from '#app/routes/resources+/files.$.tsx'
import { reloadEnv } from '#app/utils/env.server.ts'
import { call } from '#tests/utils/http.ts'
import { until } from '#tests/utils/until.ts'
import { createHttpApp } from './http-app.server.ts'

// Signed files of the local driver are answered by the HTTP layer itself, before Remix, on a real
// socket here. getStorage() reads STORAGE_DIR once: a temp folder, set before anything reads the env.
const storageDir = await vi.hoisted(async () => {
	const { default: os } = await import('node:os')
	const { default: path } = await import('node:path')
	const dir = path.join(os.tmpdir(), `renzo-files-http-${process.pid}-${Date.now()}`)
	process.env.STORAGE_DIR = dir
	delete process.env.S3_BUCKET
	return dir
})

const NOT_FOUND_TEXT = 'Fichier introuvable ou lien expiré.'
const BIG_BYTES = 32 * 1024 * 1024 // well past what loopback socket buffers hold, so a paused client stalls the server
const storage = getStorage()
/** Paths of /resources/files/* that reached Remix: none may, while the driver is local. */
const reachedRemix: string[] = []
let server: http.Server
let base = ''

beforeAll(async () => {
	expect(storage.driver).toBe('local')
	const app = createHttpApp({
		env: { NODE_ENV: 'production', APP_URL: 'https://renzo.example', TRUST_PROXY: false },
		handleRemix: async (request) => {
			const { pathname } = new URL(request.url)
			if (pathname.startsWith('/resources/files/')) reachedRemix.push(pathname)
			return new Response('remix', { headers: { 'Content-Type': 'text/plain' } })
		},
	})
	server = http.createServer(app)
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterEach(() => {
	vi.useRealTimers()
	;(globalThis as { renzoStorage?: Storage }).renzoStorage = storage
	expect(reachedRemix).toEqual([])
})
afterAll(async () => {
	await new Promise<void>((resolve) => server.close(() => resolve()))
	await fsp.rm(storageDir, { recursive: true, force: true })
})

function newKey(ext: 'jpg' | 'png' = 'jpg') {
	return storageKeys.original(crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), ext)
}

/** File descriptors of this process open on a file of the storage folder (Linux /proc). */
function openStorageFiles() {
	const root = fs.realpathSync(storageDir)
	return fs.readdirSync('/proc/self/fd').filter((fd) => {
		try {
			return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${root}/`)
		} catch {
			return false // closed in between
		}
	}).length
}

const noStorageFileOpen = () =>
	until(
		'the storage file handles to close',
		async () => openStorageFiles(),
		(n) => n === 0,
		{ timeoutMs: 10_000 },
	)

/** The Remix route's answer for the same URL: the HTTP layer must answer exactly the same. */
async function routeAnswer(url: string, method = 'GET') {
	const request = new Request(new URL(url, 'http://localhost:3000'), { method })
	const { response } = await call(() => loader({ request, params: {}, context: { nonce: 'n', csrfToken: 't' } }))
	return response!
}

/** A GET with node:http that reads `upTo` bytes, then pauses; `leave()` destroys the socket. */
function startDownload(url: string, upTo: number) {
	return new Promise<{ received: number; leave: () => void }>((resolve, reject) => {
		const request = http.get(`${base}${url}`, (response) => {
			response.on('error', () => {}) // 'aborted' once we leave
			let received = 0
			response.on('data', (chunk: Buffer) => {
				received += chunk.length
				if (received >= upTo && !response.isPaused()) {
					response.pause()
					resolve({ received, leave: () => request.destroy() })
				}
			})
		})
		request.on('error', (error) => (request.destroyed ? undefined : reject(error)))
	})
}

describe('GET/HEAD /resources/files/* in the HTTP layer (local driver)', () => {
	test('a signed URL gets the exact bytes and the same headers as the Remix route, without a cookie', async () => {
		const key = newKey()
		const bytes = crypto.randomBytes(300_000)
		await storage.put(key, bytes, { contentType: 'image/jpeg' })
		const thumbnail = storageKeys.variant(crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), 'thumbnail')
		await storage.put(thumbnail, Buffer.from('vignette'), { contentType: 'image/webp' })

		const plain = await storage.signedUrl(key)
		const response = await fetch(`${base}${plain}`)
		expect(response.status).toBe(200)
		expect(Object.fromEntries(response.headers)).toMatchObject({
			'content-type': 'image/jpeg',
			'content-length': String(bytes.length),
			'x-content-type-options': 'nosniff',
			'content-security-policy': "default-src 'none'; sandbox",
			'cache-control': 'private, no-store',
		})
		expect(response.headers.get('content-disposition')).toBeNull()
		// The security headers of every response are still there; the CSRF cookie is not (files need none).
		expect(response.headers.get('x-frame-options')).toBe('DENY')
		expect(response.headers.getSetCookie()).toEqual([])
		expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true)

		const urls = [
			plain,
			await storage.signedUrl(key, { downloadName: 'Séjour "côté".jpg' }),
			await storage.signedUrl(thumbnail, { cacheable: true }),
			plain.replace(/sig=[0-9a-f]+/, `sig=${'0'.repeat(64)}`),
		]
		for (const url of urls) {
			for (const method of ['GET', 'HEAD']) {
				const viaRoute = await routeAnswer(url, method)
				const direct = await fetch(`${base}${url}`, { method })
				expect({ url, method, status: direct.status }).toEqual({ url, method, status: viaRoute.status })
				for (const [name, value] of viaRoute.headers)
					expect({ url, method, name, value: direct.headers.get(name) }).toEqual({ url, method, name, value })
				// A HEAD answer has no body on the wire (Node drops it; Remix's server does the same for the route).
				const routeBody = Buffer.from(await viaRoute.arrayBuffer())
				expect(Buffer.from(await direct.arrayBuffer()).equals(method === 'HEAD' ? Buffer.alloc(0) : routeBody)).toBe(true)
			}
		}
		// The file streams of both paths, HEAD's included, were closed.
		await noStorageFileOpen()
	})

	test('HEAD: the headers and no body, the file closed', async () => {
		const key = newKey()
		await storage.put(key, crypto.randomBytes(50_000), { contentType: 'image/jpeg' })
		const response = await fetch(`${base}${await storage.signedUrl(key)}`, { method: 'HEAD' })
		expect(response.status).toBe(200)
		expect(response.headers.get('content-length')).toBe('50000')
		expect(response.headers.get('content-type')).toBe('image/jpeg')
		expect((await response.arrayBuffer()).byteLength).toBe(0)
		await noStorageFileOpen()
	})

	test('a bad, missing or expired signature and a deleted file are the same French 404', async () => {
		const key = newKey('png')
		await storage.put(key, Buffer.from('bientôt supprimé'), { contentType: 'image/png' })
		const url = await storage.signedUrl(key)
		const exp = Number(new URL(url, 'http://x').searchParams.get('exp'))
		const expectNotFound = async (path: string, method = 'GET') => {
			const response = await fetch(`${base}${path}`, { method })
			expect({ path, status: response.status }).toEqual({ path, status: 404 })
			expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8')
			expect(response.headers.get('cache-control')).toBe('no-store')
			expect(response.headers.get('x-content-type-options')).toBe('nosniff')
			expect(response.headers.getSetCookie()).toEqual([])
			expect(await response.text()).toBe(method === 'HEAD' ? '' : NOT_FOUND_TEXT)
		}
		await expectNotFound(url.replace(/sig=[0-9a-f]+/, `sig=${'f'.repeat(64)}`))
		await expectNotFound(url.replace(/&sig=[0-9a-f]+/, ''))
		await expectNotFound(url.replace(`exp=${exp}`, `exp=${exp + 60}`))
		await expectNotFound(`/resources/files/${key}`)
		await expectNotFound(url.replace(key, newKey('png')))
		await expectNotFound(`/resources/files/${key.replaceAll('/', '%2F')}?exp=${exp}&sig=${'0'.repeat(64)}`)
		await expectNotFound(url.replace(/sig=[0-9a-f]+/, `sig=${'f'.repeat(64)}`), 'HEAD')

		vi.useFakeTimers({ toFake: ['Date'] })
		vi.setSystemTime(exp * 1000 - 1000)
		expect((await fetch(`${base}${url}`)).status).toBe(200)
		vi.setSystemTime(exp * 1000)
		await expectNotFound(url)
		vi.useRealTimers()

		expect((await fetch(`${base}${url}`)).status).toBe(200)
		await storage.delete(key)
		await expectNotFound(url)
	})

	test('a client that leaves half-way through a big file: the file is closed and the server goes on', async () => {
		const key = newKey()
		const bytes = crypto.randomBytes(BIG_BYTES)
		await storage.put(key, bytes, { contentType: 'image/jpeg' })
		const url = await storage.signedUrl(key)
		await noStorageFileOpen()

		const download = await startDownload(url, 1024 * 1024)
		expect(download.received).toBeLessThan(BIG_BYTES)
		// Backpressure: the paused client holds the server mid-file, its handle still open…
		await new Promise((resolve) => setTimeout(resolve, 300))
		expect(openStorageFiles()).toBe(1)
		// …until the client leaves: then the file stream is destroyed.
		download.leave()
		await noStorageFileOpen()

		const again = await fetch(`${base}${url}`)
		expect(again.status).toBe(200)
		expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true)
		await noStorageFileOpen()
	})

	test('a storage error half-way breaks the response (never a short complete one), is logged, and closes the file', async () => {
		const key = newKey()
		const bytes = crypto.randomBytes(4 * 1024 * 1024)
		await storage.put(key, bytes, { contentType: 'image/jpeg' })
		const url = await storage.signedUrl(key)
		// A disk failing mid-read cannot be provoked for real: the same local driver, whose file stream
		// fails after 1 MiB.
		const failing = Object.assign(Object.create(storage) as Storage, {
			async get(key: string) {
				const object = await storage.get(key)
				if (!object) return null
				async function* failHalfway(body: Readable) {
					let sent = 0
					for await (const chunk of body as AsyncIterable<Buffer>) {
						if (sent >= 1024 * 1024) throw new Error('EIO: i/o error, read')
						sent += chunk.length
						yield chunk
					}
				}
				return { ...object, body: Readable.from(failHalfway(object.body)) }
			},
		})
		;(globalThis as { renzoStorage?: Storage }).renzoStorage = failing
		const logged: string[] = []
		process.env.LOG_LEVEL = 'error'
		reloadEnv()
		const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((line) => {
			logged.push(String(line))
			return true
		})
		try {
			const response = await fetch(`${base}${url}`)
			expect(response.status).toBe(200)
			expect(response.headers.get('content-length')).toBe(String(bytes.length))
			await expect(response.arrayBuffer()).rejects.toThrow()
			// The client may see the cut before the server's pipeline settles and logs.
			await until(
				'the failure to be logged',
				async () => logged.length,
				(n) => n > 0,
				{ timeoutMs: 10_000 },
			)
		} finally {
			stderr.mockRestore()
			process.env.LOG_LEVEL = 'silent'
			reloadEnv()
		}
		expect(logged.map((line) => JSON.parse(line) as { level: string; msg: string; error?: { message: string } })).toEqual([
			expect.objectContaining({
				level: 'error',
				msg: 'file stream failed',
				error: expect.objectContaining({ message: 'EIO: i/o error, read' }),
			}),
		])
		await noStorageFileOpen()

		;(globalThis as { renzoStorage?: Storage }).renzoStorage = storage
		const again = await fetch(`${base}${url}`)
		expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true)
	})

	test('with the S3 driver these paths go on to Remix (its URLs point at the bucket)', async () => {
		const url = await storage.signedUrl(newKey())
		;(globalThis as { renzoStorage?: Storage }).renzoStorage = createStorage({
			driver: 's3',
			bucket: 'renzo',
			endpoint: 'http://127.0.0.1:9',
			region: 'us-east-1',
			credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
			forcePathStyle: true,
			signedUrlTtlSeconds: 900,
		})
		const response = await fetch(`${base}${url}`)
		expect(await response.text()).toBe('remix')
		expect(reachedRemix).toEqual([new URL(url, 'http://x').pathname])
		reachedRemix.length = 0
	})
})
