import crypto from 'node:crypto'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { keyedHash, safeEqual } from '#app/utils/crypto.server.ts'
import { assertTtl, cacheWindow, cleanDownloadName, contentTypeForKey } from './delivery.ts'
import { assertObjectKey, assertPrefix, isObjectKey } from './keys.ts'
import type { PutOptions, Storage, StoredObject } from './storage.server.ts'

/** Path of the route that serves local files (app/routes/resources+/files.$.tsx). */
export const FILES_ROUTE = '/resources/files/'
const TMP_DIR = '.tmp'

/** What a put may hold in memory while a write is in flight (bounded, whatever the file's size). */
const WRITE_BUFFER_BYTES = 1024 * 1024

/** Renames into a folder that a concurrent delete just pruned are retried this many times. */
const RENAME_ATTEMPTS = 3

function errorCode(error: unknown) {
	return (error as NodeJS.ErrnoException | null)?.code
}
/** The path does not exist, or one of its folders is a file. */
function isMissing(error: unknown) {
	return errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR'
}

function signature(key: string, expiresAt: number, downloadName: string | null, cacheable: boolean) {
	// Keys and exp cannot hold '\n'; the download name is last, so the message is unambiguous.
	return keyedHash('storage-url', [key, String(expiresAt), cacheable ? '1' : '0', downloadName ?? ''].join('\n'))
}

/**
 * Checks a URL minted by the local driver's signedUrl: path under FILES_ROUTE, a safe key,
 * the HMAC over key, expiry, download name and cache flag (constant time), not expired.
 * Returns null on any failure.
 */
export function verifySignedPath(url: URL): { key: string; downloadName: string | null; cacheable: boolean; expiresAt: number } | null {
	if (!url.pathname.startsWith(FILES_ROUTE)) return null
	// Keys never need percent-encoding: an encoded path is not one we minted.
	const key = url.pathname.slice(FILES_ROUTE.length)
	if (!isObjectKey(key)) return null
	const query = url.searchParams
	if (['exp', 'sig', 'dl', 'c'].some((name) => query.getAll(name).length > 1)) return null
	const exp = query.get('exp')
	const sig = query.get('sig')
	const downloadName = query.get('dl')
	const flag = query.get('c')
	if (!exp || !/^\d{1,12}$/.test(exp) || !sig || !/^[0-9a-f]{64}$/.test(sig)) return null
	if ((flag !== null && flag !== '1') || downloadName === '') return null
	const cacheable = flag === '1'
	const expiresAt = Number(exp)
	if (!safeEqual(sig, signature(key, expiresAt, downloadName, cacheable))) return null
	if (expiresAt * 1000 <= Date.now()) return null
	return { key, downloadName, cacheable, expiresAt }
}

/** Files under one folder; writes go to `<root>/.tmp` first, then are renamed into place. */
class LocalStorage implements Storage {
	readonly driver = 'local'
	private readonly root: string
	private readonly ttl: number

	constructor(config: { root: string; signedUrlTtlSeconds: number }) {
		this.root = path.resolve(config.root)
		this.ttl = assertTtl(config.signedUrlTtlSeconds)
	}

	private file(key: string) {
		return path.join(this.root, ...key.split('/').filter(Boolean))
	}

	async put(key: string, body: Readable | Buffer, options: PutOptions) {
		assertObjectKey(key)
		const source = Buffer.isBuffer(body) ? Readable.from([body]) : body
		const target = this.file(key)
		const tmp = path.join(this.root, TMP_DIR, `${crypto.randomUUID()}.part`)
		let handle: fsp.FileHandle | undefined
		let size = 0
		try {
			await fsp.mkdir(path.dirname(tmp), { recursive: true })
			// Opened before any byte flows, so that a failure always finds it to remove it.
			handle = await fsp.open(tmp, 'wx', 0o640)
			const counter = new Transform({
				transform(chunk: Buffer, _encoding, callback) {
					size += chunk.length
					callback(null, chunk)
				},
			})
			// flush: fsync before the stream closes the handle (once done or destroyed). A socket hands
			// over 64 KiB at a time: with a 1 MiB buffer the chunks that arrive while a write is in
			// flight go out together in one writev, instead of one thread-pool round trip (and one
			// pause/resume of every stream upstream) per 64 KiB.
			await pipeline(source, counter, handle.createWriteStream({ flush: true, highWaterMark: WRITE_BUFFER_BYTES }), {
				signal: options.signal,
			})
			await renameInto(tmp, target)
		} catch (error) {
			source.destroy()
			await handle?.close().catch(() => {})
			await fsp.rm(tmp, { force: true })
			throw error
		}
		// Committed: from here on nothing may fail (durability of the rename is best effort).
		await syncFolder(path.dirname(target)).catch(() => {})
		return { size }
	}

	async get(key: string): Promise<StoredObject | null> {
		assertObjectKey(key)
		let handle: fsp.FileHandle
		try {
			handle = await fsp.open(this.file(key), 'r')
		} catch (error) {
			if (isMissing(error)) return null
			throw error
		}
		try {
			const stat = await handle.stat()
			if (!stat.isFile()) {
				await handle.close()
				return null
			}
			return { body: handle.createReadStream(), size: stat.size, contentType: contentTypeForKey(key) }
		} catch (error) {
			await handle.close()
			throw error
		}
	}

	async exists(key: string) {
		assertObjectKey(key)
		try {
			return (await fsp.stat(this.file(key))).isFile()
		} catch (error) {
			if (isMissing(error)) return false
			throw error
		}
	}

	async delete(key: string) {
		assertObjectKey(key)
		const file = this.file(key)
		try {
			await fsp.unlink(file)
		} catch (error) {
			// EISDIR: the key names a folder, which is no object.
			if (isMissing(error) || errorCode(error) === 'EISDIR') return
			throw error
		}
		await this.pruneUp(path.dirname(file))
	}

	async deletePrefix(prefix: string) {
		assertPrefix(prefix)
		// Collected first: removing entries from a folder being read may skip others.
		const keys: string[] = []
		for await (const { key } of this.walk(prefix)) keys.push(key)
		let count = 0
		for (const key of keys) {
			try {
				await fsp.unlink(this.file(key))
				count++
			} catch (error) {
				if (!isMissing(error)) throw error
			}
		}
		const folder = this.file(prefix)
		await pruneDown(folder)
		await this.pruneUp(path.dirname(folder))
		return count
	}

	list(prefix: string): AsyncIterable<{ key: string; size: number }> {
		assertPrefix(prefix)
		return this.walk(prefix)
	}

	private async *walk(prefix: string): AsyncGenerator<{ key: string; size: number }> {
		let entries
		try {
			entries = await fsp.readdir(this.file(prefix), { withFileTypes: true })
		} catch (error) {
			if (isMissing(error)) return
			throw error
		}
		for (const entry of entries) {
			const key = `${prefix}${entry.name}`
			if (entry.isDirectory() && isObjectKey(key)) yield* this.walk(`${key}/`)
			else if (entry.isFile() && isObjectKey(key)) {
				try {
					yield { key, size: (await fsp.stat(this.file(key))).size }
				} catch (error) {
					if (!isMissing(error)) throw error
				}
			}
		}
	}

	/** Removes empty folders from `dir` up to (not including) the root. */
	private async pruneUp(dir: string) {
		for (let current = dir; current.startsWith(this.root + path.sep); current = path.dirname(current)) {
			try {
				await fsp.rmdir(current)
			} catch {
				return // not empty (or gone): stop there
			}
		}
	}

	async signedUrl(key: string, options: { expiresInSeconds?: number; downloadName?: string; cacheable?: boolean } = {}) {
		assertObjectKey(key)
		const ttl = assertTtl(options.expiresInSeconds ?? this.ttl)
		const cacheable = options.cacheable === true
		const expiresAt = cacheable ? cacheWindow(ttl).expiresAt : Math.floor(Date.now() / 1000) + ttl
		const downloadName = options.downloadName === undefined ? null : cleanDownloadName(options.downloadName)
		const query = new URLSearchParams({ exp: String(expiresAt) })
		if (downloadName) query.set('dl', downloadName)
		if (cacheable) query.set('c', '1')
		query.set('sig', signature(key, expiresAt, downloadName, cacheable))
		return `${FILES_ROUTE}${key}?${query}`
	}
}

/** Removes every empty folder under and including `dir` (folders still holding files stay). */
async function pruneDown(dir: string) {
	let entries
	try {
		entries = await fsp.readdir(dir, { withFileTypes: true })
	} catch {
		return
	}
	for (const entry of entries) if (entry.isDirectory()) await pruneDown(path.join(dir, entry.name))
	await fsp.rmdir(dir).catch(() => {})
}

/** Moves a finished temp file to its key, creating folders as needed. */
async function renameInto(tmp: string, target: string) {
	for (let attempt = 1; ; attempt++) {
		await fsp.mkdir(path.dirname(target), { recursive: true })
		try {
			return await fsp.rename(tmp, target)
		} catch (error) {
			// A concurrent delete pruned the (then empty) folder between mkdir and rename.
			if (errorCode(error) !== 'ENOENT' || attempt === RENAME_ATTEMPTS) throw error
		}
	}
}

/** fsync of a folder: makes a rename durable across a power cut. */
async function syncFolder(dir: string) {
	const handle = await fsp.open(dir, 'r')
	try {
		await handle.sync()
	} finally {
		await handle.close()
	}
}

/** The local-folder driver (see Storage). */
export function createLocalStorage(config: { root: string; signedUrlTtlSeconds: number }): Storage {
	return new LocalStorage(config)
}
