import fs from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { getEnv } from '#app/utils/env.server.ts'
import { createLocalStorage } from './local.server.ts'
import { createS3Storage, type S3Config } from './s3.server.ts'

export { assertSafeKey, UnsafeKeyError } from './keys.ts'
export { verifySignedPath } from './local.server.ts'

export type PutOptions = { contentType: string; cacheControl?: string; signal?: AbortSignal }
/** `body` must be consumed or destroyed (it holds a file handle or a socket). */
export type StoredObject = { body: Readable; size: number; contentType: string }

/**
 * Where photos live: a local folder (development, single machine) or an S3-compatible bucket
 * (Backblaze B2 in production), same behaviour either way (decision 007). Every method refuses
 * an unsafe key with UnsafeKeyError before touching the disk or the network.
 */
export interface Storage {
	readonly driver: 'local' | 's3'
	/**
	 * Streams body to key, never buffering it whole. Resolves with the bytes written. On any error
	 * or abort (signal, source stream error/destroy), NOTHING new is left at key (a key that did
	 * not exist stays absent; an overwritten one keeps its previous content) and no temp file
	 * remains; then it rejects: with the AbortError of stream.pipeline on abort, with the source's
	 * own error when it fails. The source stream is destroyed on failure. An abort that comes
	 * after the bytes are committed is too late: put then resolves. Overwrites an existing key.
	 */
	put(key: string, body: Readable | Buffer, options: PutOptions): Promise<{ size: number }>
	/** null when missing. */
	get(key: string): Promise<StoredObject | null>
	exists(key: string): Promise<boolean>
	/** Idempotent. */
	delete(key: string): Promise<void>
	/** Deletes every object under prefix (which must end with '/'); resolves with how many. */
	deletePrefix(prefix: string): Promise<number>
	/** Every object under prefix (which must end with '/'), in no particular order. */
	list(prefix: string): AsyncIterable<{ key: string; size: number }>
	/**
	 * A short-lived URL a browser can GET. expiresInSeconds defaults to SIGNED_URL_TTL_SECONDS.
	 * downloadName sets Content-Disposition attachment (RFC 5987 encoded, safe for
	 * accents/quotes/newlines). cacheable: the URL is stable within a time window (expiry rounded
	 * up to the next window boundary) and served with a long public Cache-Control, so a CDN
	 * (Cloudflare) can cache derived variants; not cacheable (originals): private, no-store.
	 */
	signedUrl(key: string, options?: { expiresInSeconds?: number; downloadName?: string; cacheable?: boolean }): Promise<string>
}

export type StorageConfig =
	| {
			driver: 'local'
			/** Absolute, or relative to the current directory. */
			root: string
			signedUrlTtlSeconds: number
	  }
	| ({ driver: 's3' } & S3Config)

/** Builds a storage from explicit settings (tests build both drivers this way). */
export function createStorage(config: StorageConfig): Storage {
	return config.driver === 'local' ? createLocalStorage(config) : createS3Storage(config)
}

/** The folder of package.json: STORAGE_DIR is relative to it, wherever the code runs from (source or build/). */
function repoRoot() {
	let dir = import.meta.dirname
	while (!fs.existsSync(path.join(dir, 'package.json'))) {
		const parent = path.dirname(dir)
		if (parent === dir) return process.cwd()
		dir = parent
	}
	return dir
}

/** Settings from the environment: S3_BUCKET set → S3, else the folder STORAGE_DIR (relative to the repo root). */
export function storageConfigFromEnv(env = getEnv()): StorageConfig {
	if (env.S3_BUCKET) {
		return {
			driver: 's3',
			bucket: env.S3_BUCKET,
			endpoint: env.S3_ENDPOINT,
			region: env.S3_REGION,
			credentials:
				env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY
					? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY }
					: undefined,
			forcePathStyle: env.S3_FORCE_PATH_STYLE,
			signedUrlTtlSeconds: env.SIGNED_URL_TTL_SECONDS,
		}
	}
	return { driver: 'local', root: path.resolve(repoRoot(), env.STORAGE_DIR), signedUrlTtlSeconds: env.SIGNED_URL_TTL_SECONDS }
}

const globalForStorage = globalThis as { renzoStorage?: Storage }

/** The storage of this process, configured from the environment (one instance, kept across dev reloads). */
export function getStorage(): Storage {
	globalForStorage.renzoStorage ??= createStorage(storageConfigFromEnv())
	return globalForStorage.renzoStorage
}
