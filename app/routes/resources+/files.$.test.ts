import crypto from 'node:crypto'
import fsp from 'node:fs/promises'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { call } from '#tests/utils/http.ts'
import { loader } from './files.$.tsx'

// getStorage() reads STORAGE_DIR once: a temp folder, set before anything reads the env.
const storageDir = await vi.hoisted(async () => {
	const { default: os } = await import('node:os')
	const { default: path } = await import('node:path')
	const dir = path.join(os.tmpdir(), `renzo-files-route-${process.pid}-${Date.now()}`)
	process.env.STORAGE_DIR = dir
	delete process.env.S3_BUCKET
	return dir
})

const TTL = 900 // SIGNED_URL_TTL_SECONDS default

async function get(url: string, method = 'GET') {
	// No cookie at all: the signature alone must be enough.
	const request = new Request(new URL(url, 'http://localhost:3000'), { method })
	const { response } = await call(() => loader({ request, params: {}, context: { nonce: 'n', csrfToken: 't' } }))
	return response!
}

/** The same URL with one query parameter changed (null removes it). */
function withParam(url: string, name: string, value: string | null) {
	const parsed = new URL(url, 'http://localhost:3000')
	if (value === null) parsed.searchParams.delete(name)
	else parsed.searchParams.set(name, value)
	return `${parsed.pathname}${parsed.search}`
}

describe('GET /resources/files/* (local driver)', () => {
	const storage = getStorage()
	const mine = storageKeys.original(crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), 'jpg')
	const theirs = storageKeys.original(crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), 'jpg')
	const thumbnail = storageKeys.variant(crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), 'thumbnail')
	const bytes = crypto.randomBytes(20_000)

	beforeAll(async () => {
		expect(storage.driver).toBe('local')
		await storage.put(mine, bytes, { contentType: 'image/jpeg' })
		await storage.put(theirs, Buffer.from('somebody else'), { contentType: 'image/jpeg' })
		await storage.put(thumbnail, Buffer.from('thumb'), { contentType: 'image/webp' })
	})
	afterEach(() => {
		vi.useRealTimers()
	})
	afterAll(() => fsp.rm(storageDir, { recursive: true, force: true }))

	test('a signed URL streams the file, privately, without a session', async () => {
		const url = await storage.signedUrl(mine)
		expect(url).toMatch(/^\/resources\/files\/[^?]+\?exp=\d+&sig=[0-9a-f]{64}$/)
		const response = await get(url)
		expect(response.status).toBe(200)
		expect(Object.fromEntries(response.headers)).toMatchObject({
			'content-type': 'image/jpeg',
			'content-length': String(bytes.length),
			'x-content-type-options': 'nosniff',
			'cache-control': 'private, no-store',
		})
		expect(response.headers.get('content-disposition')).toBeNull()
		expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true)

		const head = await get(url, 'HEAD')
		expect(head.status).toBe(200)
		expect(head.headers.get('content-length')).toBe(String(bytes.length))
		expect(head.body).toBeNull()
	})

	test('a download name is served as an RFC 5987 attachment', async () => {
		const response = await get(await storage.signedUrl(mine, { downloadName: 'Séjour\r\nSet-Cookie: x=1 "côté".jpg' }))
		expect(response.status).toBe(200)
		expect(response.headers.get('content-disposition')).toBe(
			`attachment; filename="SejourSet-Cookie: x=1 'cote'.jpg"; filename*=UTF-8''S%C3%A9jourSet-Cookie%3A%20x%3D1%20%22c%C3%B4t%C3%A9%22.jpg`,
		)
		expect(response.headers.get('set-cookie')).toBeNull()
	})

	test('any tampering, a missing or bad signature, an expired link or a traversal is a 404', async () => {
		const plain = await storage.signedUrl(mine)
		const named = await storage.signedUrl(mine, { downloadName: 'salon.jpg' })
		const cacheable = await storage.signedUrl(thumbnail, { cacheable: true })
		const exp = new URL(plain, 'http://x').searchParams.get('exp')!
		const sig = new URL(plain, 'http://x').searchParams.get('sig')!
		const refused = [
			// another (existing) file under the same signature
			plain.replace(mine, theirs),
			plain.replace('.jpg?', '.png?'),
			withParam(named, 'dl', 'autre.jpg'),
			withParam(named, 'dl', null),
			withParam(plain, 'dl', 'salon.jpg'),
			withParam(plain, 'dl', ''),
			withParam(plain, 'c', '1'),
			withParam(cacheable, 'c', null),
			withParam(cacheable, 'c', '0'),
			withParam(plain, 'exp', String(Number(exp) + 3600)),
			withParam(plain, 'exp', `${exp}.0`),
			withParam(plain, 'sig', null),
			withParam(plain, 'sig', sig.toUpperCase()),
			withParam(plain, 'sig', `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`),
			withParam(plain, 'sig', ''),
			withParam(plain, 'exp', null),
			`${plain}&sig=${sig}`,
			`/resources/files/${mine}`,
			`/resources/files/../../etc/passwd?exp=${exp}&sig=${sig}`,
			`/resources/files/${mine.split('/')[0]}/originals/%2e%2e/%2e%2e/${theirs}?exp=${exp}&sig=${sig}`,
			`/resources/files/${mine.replaceAll('/', '%2F')}?exp=${exp}&sig=${sig}`,
			`/resources/files/${mine.replace('/', '%5C')}?exp=${exp}&sig=${sig}`,
			`/resources/files/%E0%A4%A?exp=${exp}&sig=${sig}`,
			`/resources/files/.tmp/x?exp=${exp}&sig=${sig}`,
		]
		for (const url of refused) {
			const response = await get(url)
			expect({ url, status: response.status }).toEqual({ url, status: 404 })
			expect(response.headers.get('cache-control')).toBe('no-store')
		}
		// The untampered ones still work.
		for (const url of [plain, named, cacheable]) expect((await get(url)).status).toBe(200)

		// Expired: valid up to its last second, refused from then on.
		vi.useFakeTimers({ toFake: ['Date'] })
		vi.setSystemTime(Number(exp) * 1000 - 1000)
		expect((await get(plain)).status).toBe(200)
		vi.setSystemTime(Number(exp) * 1000)
		expect((await get(plain)).status).toBe(404)
	})

	test('a deleted file is a 404 even with a valid signature', async () => {
		const key = storageKeys.original(crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), 'png')
		await storage.put(key, Buffer.from('soon gone'), { contentType: 'image/png' })
		const url = await storage.signedUrl(key)
		expect((await get(url)).status).toBe(200)
		await storage.delete(key)
		expect((await get(url)).status).toBe(404)
	})

	test('cacheable: public Cache-Control up to the expiry, one URL per window', async () => {
		vi.useFakeTimers({ toFake: ['Date'] })
		const windowStart = Math.floor(Date.now() / 1000 / TTL) * TTL
		vi.setSystemTime((windowStart + 100) * 1000)
		const url = await storage.signedUrl(thumbnail, { cacheable: true })
		expect(new URL(url, 'http://x').searchParams.get('exp')).toBe(String(windowStart + 2 * TTL))
		expect(url).toContain('&c=1&')

		vi.setSystemTime((windowStart + TTL - 1) * 1000)
		expect(await storage.signedUrl(thumbnail, { cacheable: true })).toBe(url)
		const response = await get(url)
		expect(response.status).toBe(200)
		expect(response.headers.get('cache-control')).toBe(`public, max-age=${TTL + 1}, immutable`)
		expect(response.headers.get('content-type')).toBe('image/webp')

		vi.setSystemTime((windowStart + TTL) * 1000)
		const next = await storage.signedUrl(thumbnail, { cacheable: true })
		expect(next).not.toBe(url)
		expect((await get(url)).status).toBe(200) // the previous window's URL is still valid

		// A custom lifetime sets the window.
		const short = await storage.signedUrl(thumbnail, { cacheable: true, expiresInSeconds: 60 })
		expect(Number(new URL(short, 'http://x').searchParams.get('exp'))).toBe(Math.floor((windowStart + TTL) / 60) * 60 + 120)
	})
})
