import crypto from 'node:crypto'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { loader as filesLoader } from '#app/routes/resources+/files.$.tsx'
import { startS3Server } from '#tests/fakes/s3.ts'
import { call } from '#tests/utils/http.ts'
import { storageKeys } from './keys.ts'
import { createStorage, getStorage, UnsafeKeyError, type Storage } from './storage.server.ts'

// The files route serves getStorage(): point it at a temp folder before anything reads the env.
const storageDir = await vi.hoisted(async () => {
	const { default: nodeOs } = await import('node:os')
	const { default: nodePath } = await import('node:path')
	const dir = nodePath.join(nodeOs.tmpdir(), `renzo-storage-${process.pid}-${Date.now()}`)
	process.env.STORAGE_DIR = dir
	delete process.env.S3_BUCKET
	return dir
})

const MB = 1024 * 1024
const FRENCH_NAME = 'Salon ensoleillé "vue mer"\n.jpg'
const FRENCH_DISPOSITION = `attachment; filename="Salon ensoleille 'vue mer'.jpg"; filename*=UTF-8''Salon%20ensoleill%C3%A9%20%22vue%20mer%22.jpg`

type Harness = {
	storage: Storage
	/** GETs a signed URL the way a browser would. */
	fetchSigned(url: string): Promise<Response>
	/** What a put may leave outside its key (local: files in the temp folder). */
	leftovers(): Promise<string[]>
	/** Resolves once an interrupted put has really started writing (local: a temp file; S3: a multipart part). */
	writing(): Promise<void>
	/** Everything stored and every request made so far, to prove that a call touched nothing. */
	footprint(): Promise<string>
	close(): Promise<void>
}

async function treeOf(dir: string): Promise<string[]> {
	const entries = await fsp.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => null)
	if (!entries) return ['(missing)']
	return entries.map((e) => `${path.relative(dir, path.join(e.parentPath, e.name))}${e.isDirectory() ? '/' : ''}`).sort()
}

async function until(condition: () => Promise<boolean> | boolean, what: string) {
	const deadline = Date.now() + 10_000
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
		await new Promise((resolve) => setTimeout(resolve, 10))
	}
}

async function localHarness(): Promise<Harness> {
	const storage = getStorage()
	const tmp = path.join(storageDir, '.tmp')
	const leftovers = async () => (await fsp.readdir(tmp).catch(() => [])).sort()
	return {
		storage,
		async fetchSigned(url) {
			const request = new Request(new URL(url, 'http://localhost:3000'))
			const { response } = await call(() => filesLoader({ request, params: {}, context: { nonce: 'n', csrfToken: 't' } }))
			return response!
		},
		leftovers,
		writing: () => until(async () => (await leftovers()).length > 0, 'a temp file'),
		footprint: async () => JSON.stringify(await treeOf(storageDir)),
		close: async () => {},
	}
}

async function s3Harness(): Promise<Harness> {
	const server = await startS3Server()
	const storage = createStorage({
		driver: 's3',
		bucket: server.bucket,
		endpoint: server.endpoint,
		region: server.region,
		credentials: server.credentials,
		forcePathStyle: true,
		signedUrlTtlSeconds: 900,
	})
	return {
		storage,
		fetchSigned: (url) => fetch(url),
		leftovers: async () => [],
		writing: () => until(() => server.requests.some((r) => r.method === 'PUT' && r.url.includes('partNumber=1')), 'a multipart part'),
		footprint: async () => String(server.requests.length),
		close: () => server.close(),
	}
}

/** Random bytes as a stream (never a whole buffer), hashed on the way; can stall at `stallAt` bytes. */
function generated(size: number, options: { stallAt?: number } = {}) {
	const hash = crypto.createHash('sha256')
	let sent = 0
	let onStall = () => {}
	const stalled = new Promise<void>((resolve) => (onStall = resolve))
	const stream = new Readable({
		read() {
			if (options.stallAt !== undefined && sent >= options.stallAt) return onStall()
			if (sent >= size) return void this.push(null)
			const chunk = crypto.randomBytes(Math.min(64 * 1024, size - sent))
			hash.update(chunk)
			sent += chunk.length
			this.push(chunk)
		},
	})
	return { stream, stalled, sha256: () => hash.digest('hex') }
}

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex')

async function sha256Of(stream: Readable) {
	const hash = crypto.createHash('sha256')
	for await (const chunk of stream) hash.update(chunk as Buffer)
	return hash.digest('hex')
}

async function keysUnder(storage: Storage, prefix: string) {
	const keys: string[] = []
	for await (const item of storage.list(prefix)) keys.push(item.key)
	return keys.sort()
}

const newId = () => crypto.randomUUID()

describe.each([
	{ name: 'local', start: localHarness },
	{ name: 's3', start: s3Harness },
])('storage, $name driver', ({ name, start }) => {
	let h: Harness
	beforeAll(async () => {
		h = await start()
		expect(h.storage.driver).toBe(name)
	})
	afterAll(() => h?.close())

	test('a 6 MB stream and Buffers come back byte for byte, with their size and type', async () => {
		const user = newId()
		const big = storageKeys.original(user, newId(), newId(), 'jpg')
		const source = generated(6 * MB + 123)
		expect(await h.storage.put(big, source.stream, { contentType: 'image/jpeg' })).toEqual({ size: 6 * MB + 123 })
		const stored = await h.storage.get(big)
		expect(stored).toMatchObject({ size: 6 * MB + 123, contentType: 'image/jpeg' })
		expect(await sha256Of(stored!.body)).toBe(source.sha256())

		for (const size of [100_000, 6 * MB + 7]) {
			const bytes = crypto.randomBytes(size)
			const key = storageKeys.variant(user, newId(), newId(), 'preview')
			expect(await h.storage.put(key, bytes, { contentType: 'image/webp', cacheControl: 'public, max-age=31536000' })).toEqual({ size })
			const back = await h.storage.get(key)
			expect(back).toMatchObject({ size, contentType: 'image/webp' })
			expect(await sha256Of(back!.body)).toBe(sha256(bytes))
		}
	})

	test('put overwrites; exists and delete are idempotent', async () => {
		const key = storageKeys.original(newId(), newId(), newId(), 'png')
		expect(await h.storage.exists(key)).toBe(false)
		expect(await h.storage.get(key)).toBeNull()
		await h.storage.delete(key)

		await h.storage.put(key, Buffer.from('first version, longer'), { contentType: 'image/png' })
		await h.storage.put(key, Readable.from([Buffer.from('second')]), { contentType: 'image/png' })
		const back = await h.storage.get(key)
		expect(back?.size).toBe(6)
		expect(await sha256Of(back!.body)).toBe(sha256(Buffer.from('second')))
		expect(await h.storage.exists(key)).toBe(true)

		await h.storage.delete(key)
		await h.storage.delete(key)
		expect(await h.storage.exists(key)).toBe(false)
		expect(await h.storage.get(key)).toBeNull()
	})

	test('list and deletePrefix stay inside their prefix', async () => {
		const mine = newId()
		// Shares my id as a prefix: 'mine/' must never match 'mine0/'.
		const theirs = `${mine}0`
		const other = newId()
		const project = newId()
		const keep = newId()
		const files = [
			storageKeys.original(mine, project, 'a', 'jpg'),
			storageKeys.original(mine, project, 'b', 'heic'),
			storageKeys.variant(mine, project, 'a', 'thumbnail'),
			storageKeys.variant(mine, project, 'a', 'preview'),
			storageKeys.transformed(mine, project, 't1', 'jpg'),
			storageKeys.original(mine, keep, 'c', 'jpg'),
			storageKeys.styleExample(mine, 's1', 'jpg'),
			storageKeys.original(theirs, project, 'a', 'jpg'),
			storageKeys.original(other, project, 'a', 'jpg'),
		]
		for (const key of files) await h.storage.put(key, Buffer.from(key), { contentType: 'image/jpeg' })

		const listed: { key: string; size: number }[] = []
		for await (const item of h.storage.list(`${mine}/originals/${project}/`)) listed.push(item)
		expect(listed.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
			{ key: files[0], size: files[0]!.length },
			{ key: files[1], size: files[1]!.length },
		])

		const counts = []
		for (const prefix of storageKeys.project(mine, project)) counts.push(await h.storage.deletePrefix(prefix))
		expect(counts).toEqual([2, 1, 1, 1])
		expect(await keysUnder(h.storage, storageKeys.user(mine))).toEqual([files[5], files[6]].sort())
		for (const key of files.slice(7)) expect(await h.storage.exists(key)).toBe(true)
		expect(await h.storage.deletePrefix(`${mine}/originals/${project}/`)).toBe(0)

		expect(await h.storage.deletePrefix(storageKeys.user(mine))).toBe(2)
		expect(await keysUnder(h.storage, storageKeys.user(mine))).toEqual([])
		expect(await keysUnder(h.storage, storageKeys.user(theirs))).toEqual([files[7]])
	})

	test('a source that fails halfway leaves nothing, and an overwritten key keeps its content', async () => {
		const folder = `${newId()}/originals/${newId()}/`
		const key = `${folder}photo.jpg`
		const source = generated(8 * MB, { stallAt: 5 * MB + 512 * 1024 })
		const boom = new Error('the client went away')
		const putting = h.storage.put(key, source.stream, { contentType: 'image/jpeg' })
		await source.stalled
		await h.writing()
		source.stream.destroy(boom)
		await expect(putting).rejects.toBe(boom)
		expect(await h.storage.get(key)).toBeNull()
		expect(await keysUnder(h.storage, folder)).toEqual([])
		expect(await h.leftovers()).toEqual([])

		await h.storage.put(key, Buffer.from('kept'), { contentType: 'image/jpeg' })
		const failing = new Readable({ read() {} })
		failing.push(Buffer.alloc(1024, 1))
		setTimeout(() => failing.destroy(boom), 20)
		await expect(h.storage.put(key, failing, { contentType: 'image/jpeg' })).rejects.toBe(boom)
		expect(await sha256Of((await h.storage.get(key))!.body)).toBe(sha256(Buffer.from('kept')))
		expect(await h.leftovers()).toEqual([])
	})

	test('a put aborted through its signal halfway leaves nothing', async () => {
		const folder = `${newId()}/originals/${newId()}/`
		const key = `${folder}photo.jpg`
		const source = generated(8 * MB, { stallAt: 5 * MB + 512 * 1024 })
		const controller = new AbortController()
		const putting = h.storage.put(key, source.stream, { contentType: 'image/jpeg', signal: controller.signal })
		await source.stalled
		await h.writing()
		controller.abort(new Error('the client left'))
		await expect(putting).rejects.toMatchObject({ name: 'AbortError', cause: new Error('the client left') })
		expect(source.stream.destroyed).toBe(true)
		expect(await h.storage.get(key)).toBeNull()
		expect(await keysUnder(h.storage, folder)).toEqual([])
		expect(await h.leftovers()).toEqual([])

		// Already aborted: refused before a byte is stored, Buffer or stream.
		for (const body of [Buffer.from('x'), Readable.from([Buffer.from('x')])]) {
			const reason = new Error('the client left')
			await expect(h.storage.put(key, body, { contentType: 'image/jpeg', signal: AbortSignal.abort(reason) })).rejects.toMatchObject({
				name: 'AbortError',
				cause: reason,
			})
		}
		expect(await h.storage.exists(key)).toBe(false)
		expect(await h.leftovers()).toEqual([])
	})

	test('unsafe keys are refused by every method without touching the disk or the network', async () => {
		const before = await h.footprint()
		const unsafe = ['../x', 'a/../b', '/abs', 'a\\b', 'a\nb', '', 'a//b', './a', 'a/./b', 'a/.tmp/b', '.tmp/x', 'a b', 'é/x', 'a/%2e%2e/b']
		for (const key of unsafe) {
			const attempts: (() => unknown)[] = [
				() => h.storage.put(key, Buffer.from('x'), { contentType: 'image/jpeg' }),
				() => h.storage.put(key, Readable.from([Buffer.from('x')]), { contentType: 'image/jpeg' }),
				() => h.storage.get(key),
				() => h.storage.exists(key),
				() => h.storage.delete(key),
				() => h.storage.deletePrefix(`${key}/`),
				() => h.storage.list(`${key}/`)[Symbol.asyncIterator]().next(),
				() => h.storage.signedUrl(key),
			]
			for (const attempt of attempts) await expect((async () => attempt())()).rejects.toBeInstanceOf(UnsafeKeyError)
		}
		// Prefixes must end with '/' (so 'u1' never matches 'u10/...'); keys must not.
		await expect(h.storage.deletePrefix('u1')).rejects.toBeInstanceOf(UnsafeKeyError)
		expect(() => h.storage.list('u1')).toThrow(UnsafeKeyError)
		await expect(h.storage.get('u1/')).rejects.toBeInstanceOf(UnsafeKeyError)
		expect(await h.footprint()).toBe(before)
	})

	test('a signed URL serves the exact bytes, with the download name and the cache policy asked for', async () => {
		const user = newId()
		const project = newId()
		const original = storageKeys.original(user, project, newId(), 'jpg')
		const bytes = crypto.randomBytes(300_000)
		await h.storage.put(original, bytes, { contentType: 'image/jpeg' })

		const download = await h.fetchSigned(await h.storage.signedUrl(original, { downloadName: FRENCH_NAME }))
		expect(download.status).toBe(200)
		expect(download.headers.get('content-disposition')).toBe(FRENCH_DISPOSITION)
		expect(download.headers.get('content-type')).toBe('image/jpeg')
		expect(download.headers.get('cache-control')).toBe('private, no-store')
		expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(bytes))

		const preview = storageKeys.variant(user, project, newId(), 'preview')
		await h.storage.put(preview, bytes, { contentType: 'image/webp' })
		const cached = await h.fetchSigned(await h.storage.signedUrl(preview, { cacheable: true }))
		expect(cached.status).toBe(200)
		expect(cached.headers.get('content-disposition')).toBeNull()
		expect(cached.headers.get('cache-control')).toMatch(/^public, max-age=\d+, immutable$/)
		expect(Number(/max-age=(\d+)/.exec(cached.headers.get('cache-control')!)![1])).toBeGreaterThanOrEqual(900)
		expect(sha256(Buffer.from(await cached.arrayBuffer()))).toBe(sha256(bytes))

		// Same URL within a window, another one in the next.
		vi.useFakeTimers({ toFake: ['Date'] })
		try {
			vi.setSystemTime(Math.floor(Date.now() / 900_000) * 900_000 + 5_000)
			const first = await h.storage.signedUrl(preview, { cacheable: true })
			vi.setSystemTime(Date.now() + 800_000)
			expect(await h.storage.signedUrl(preview, { cacheable: true })).toBe(first)
			vi.setSystemTime(Date.now() + 200_000)
			expect(await h.storage.signedUrl(preview, { cacheable: true })).not.toBe(first)
		} finally {
			vi.useRealTimers()
		}
	})
})

describe('s3 driver against s3rver', () => {
	let server: Awaited<ReturnType<typeof startS3Server>>
	let storage: Storage
	beforeAll(async () => {
		server = await startS3Server()
		storage = createStorage({
			driver: 's3',
			bucket: server.bucket,
			endpoint: server.endpoint,
			region: server.region,
			credentials: server.credentials,
			forcePathStyle: true,
			signedUrlTtlSeconds: 900,
		})
	})
	afterAll(() => server?.close())

	test('an expired presigned URL is refused', async () => {
		const key = storageKeys.original(newId(), newId(), newId(), 'jpg')
		await storage.put(key, Buffer.from('bytes'), { contentType: 'image/jpeg' })
		vi.useFakeTimers({ toFake: ['Date'] })
		let url: string
		try {
			vi.setSystemTime(Date.now() - 3_600_000)
			url = await storage.signedUrl(key)
		} finally {
			vi.useRealTimers()
		}
		expect((await fetch(url)).status).toBe(403)
		expect((await fetch(await storage.signedUrl(key))).status).toBe(200)
	})

	test('what reaches the server: no checksum headers or aws-chunked bodies, Content-MD5 on DeleteObjects (B2)', async () => {
		const user = newId()
		const from = server.requests.length
		await storage.put(`${user}/a.jpg`, Buffer.from('small'), { contentType: 'image/jpeg', cacheControl: 'private' })
		await storage.put(`${user}/b.jpg`, generated(6 * MB).stream, { contentType: 'image/jpeg' })
		expect(await storage.deletePrefix(`${user}/`)).toBe(2)
		const seen = server.requests.slice(from)
		const puts = seen.filter((r) => r.method === 'PUT')
		expect(puts.length).toBeGreaterThanOrEqual(3) // one PutObject, two parts
		for (const request of puts) {
			expect(Object.keys(request.headers).filter((name) => name.startsWith('x-amz-checksum') || name === 'x-amz-trailer')).toEqual([])
			expect(request.headers['content-encoding'] ?? '').not.toContain('aws-chunked')
		}
		const batchDelete = seen.find((r) => r.method === 'POST' && r.url.includes('delete'))
		expect(batchDelete?.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/)
		expect(
			Object.keys(batchDelete!.headers).filter((name) => name.startsWith('x-amz-checksum') || name.startsWith('x-amz-sdk-checksum')),
		).toEqual([])
	})
})

afterAll(() => fsp.rm(storageDir, { recursive: true, force: true }))

test('getStorage: one local instance per process, rooted at STORAGE_DIR', async () => {
	expect(getStorage()).toBe(getStorage())
	expect(getStorage().driver).toBe('local')
	const key = `${newId()}/x.jpg`
	await getStorage().put(key, Buffer.from('here'), { contentType: 'image/jpeg' })
	expect(await fsp.readFile(path.join(storageDir, key), 'utf8')).toBe('here')
})
