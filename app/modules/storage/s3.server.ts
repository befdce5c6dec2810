import crypto from 'node:crypto'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
	DeleteObjectCommand,
	DeleteObjectsCommand,
	GetObjectCommand,
	HeadObjectCommand,
	ListObjectsV2Command,
	PutObjectCommand,
	S3Client,
	S3ServiceException,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { assertTtl, cacheWindow, contentDisposition, PRIVATE_CACHE_CONTROL, publicCacheControl } from './delivery.ts'
import { assertObjectKey, assertPrefix } from './keys.ts'
import type { PutOptions, Storage, StoredObject } from './storage.server.ts'

/** Multipart part size (S3's minimum); a Buffer up to this size goes in one PutObject. */
const PART_SIZE = 5 * 1024 * 1024

export type S3Config = {
	bucket: string
	/** Unset: AWS itself. B2: https://s3.<region>.backblazeb2.com */
	endpoint?: string
	region: string
	/** Unset: the SDK's default credential chain. */
	credentials?: { accessKeyId: string; secretAccessKey: string }
	forcePathStyle: boolean
	signedUrlTtlSeconds: number
}

function isNotFound(error: unknown) {
	return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound')
}

/** The error stream.pipeline rejects with on abort, so that both paths of put fail alike. */
function abortError(signal: AbortSignal) {
	return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR', cause: signal.reason as unknown })
}

function createClient(config: S3Config) {
	const client = new S3Client({
		endpoint: config.endpoint,
		region: config.region,
		credentials: config.credentials,
		forcePathStyle: config.forcePathStyle,
		// B2 refuses the CRC32 headers the SDK sends by default; and with the defaults a streamed
		// PutObject is stored WITH its aws-chunked framing on some servers (STACK-NOTES).
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
		// Retries (with backoff) 5xx, 503 SlowDown and throttling.
		maxAttempts: 5,
	})
	// DeleteObjects is the one call that still gets a CRC32 header under WHEN_REQUIRED; S3-compatible
	// servers that predate it want Content-MD5 instead (aws-sdk-js-v3 supplemental-docs/MD5_FALLBACK.md).
	client.middlewareStack.add(
		(next, context) => async (args) => {
			const request = args.request as { headers?: Record<string, string>; body?: unknown }
			if (context.commandName !== 'DeleteObjectsCommand' || !request.headers) return next(args)
			for (const name of Object.keys(request.headers)) {
				const lower = name.toLowerCase()
				if (lower.startsWith('x-amz-checksum-') || lower.startsWith('x-amz-sdk-checksum-')) delete request.headers[name]
			}
			if (typeof request.body === 'string' || request.body instanceof Uint8Array)
				request.headers['content-md5'] = crypto.createHash('md5').update(request.body).digest('base64')
			return next(args)
		},
		// 'build' like the checksum middleware, 'low' to run after it (it sets the header we remove).
		{ name: 'renzoDeleteObjectsMd5', step: 'build', priority: 'low' },
	)
	return client
}

/** An S3-compatible bucket (Backblaze B2 in production, s3rver in tests). */
class S3Storage implements Storage {
	readonly driver = 's3'
	private readonly client: S3Client
	private readonly bucket: string
	private readonly ttl: number

	constructor(config: S3Config) {
		this.client = createClient(config)
		this.bucket = config.bucket
		this.ttl = assertTtl(config.signedUrlTtlSeconds)
	}

	async put(key: string, body: Readable | Buffer, options: PutOptions) {
		assertObjectKey(key)
		const object = { Bucket: this.bucket, Key: key, ContentType: options.contentType, CacheControl: options.cacheControl }
		if (Buffer.isBuffer(body) && body.length <= PART_SIZE) {
			// Not passed to the SDK: an HTTP request cut after S3 stored the object would reject
			// although the object exists. A small buffer is sent in one go or not at all.
			if (options.signal?.aborted) throw abortError(options.signal)
			await this.client.send(new PutObjectCommand({ ...object, Body: body, ContentLength: body.length }))
			return { size: body.length }
		}
		const source = Buffer.isBuffer(body) ? Readable.from([body]) : body
		let size = 0
		const counter = new Transform({
			transform(chunk: Buffer, _encoding, callback) {
				size += chunk.length
				callback(null, chunk)
			},
		})
		const upload = new Upload({ client: this.client, params: { ...object, Body: counter }, partSize: PART_SIZE, queueSize: 2 })
		// An abort or a source error destroys `counter`, which makes the Upload fail, abort its
		// multipart upload and only THEN settle: never a CompleteMultipartUpload after we reject.
		// (upload.abort() would reject done() at once while parts or a PutObject are still in
		// flight, possibly creating the object after put has given up.)
		const feeding = pipeline(source, counter, { signal: options.signal })
		const uploading = upload.done().catch((error: unknown) => {
			counter.destroy(error as Error) // unblocks `feeding` when S3 itself failed
			throw error
		})
		const [fed, uploaded] = await Promise.allSettled([feeding, uploading])
		if (fed.status === 'fulfilled' && uploaded.status === 'fulfilled') return { size }
		// The upload completed although the source failed (a race at its very end): undo it.
		if (uploaded.status === 'fulfilled') await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
		source.destroy()
		throw fed.status === 'rejected' ? fed.reason : (uploaded as PromiseRejectedResult).reason
	}

	async get(key: string): Promise<StoredObject | null> {
		assertObjectKey(key)
		try {
			const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
			if (!(output.Body instanceof Readable)) throw new Error('S3 GetObject returned no Node stream')
			return { body: output.Body, size: output.ContentLength ?? 0, contentType: output.ContentType ?? 'application/octet-stream' }
		} catch (error) {
			if (isNotFound(error)) return null
			throw error
		}
	}

	async exists(key: string) {
		assertObjectKey(key)
		try {
			await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))
			return true
		} catch (error) {
			if (isNotFound(error)) return false
			throw error
		}
	}

	async delete(key: string) {
		assertObjectKey(key)
		await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
	}

	async deletePrefix(prefix: string) {
		assertPrefix(prefix)
		let count = 0
		let token: string | undefined
		do {
			const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
			const objects = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []))
			if (objects.length > 0) {
				const result = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }))
				const failed = result.Errors ?? []
				if (failed.length > 0)
					throw new Error(`S3 DeleteObjects failed for ${failed.length} key(s), first: ${failed[0]?.Key} (${failed[0]?.Code})`)
				count += objects.length
			}
			token = page.IsTruncated ? page.NextContinuationToken : undefined
		} while (token)
		return count
	}

	list(prefix: string): AsyncIterable<{ key: string; size: number }> {
		assertPrefix(prefix)
		return this.pages(prefix)
	}

	private async *pages(prefix: string): AsyncGenerator<{ key: string; size: number }> {
		let token: string | undefined
		do {
			const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
			for (const object of page.Contents ?? []) if (object.Key) yield { key: object.Key, size: object.Size ?? 0 }
			token = page.IsTruncated ? page.NextContinuationToken : undefined
		} while (token)
	}

	async signedUrl(key: string, options: { expiresInSeconds?: number; downloadName?: string; cacheable?: boolean } = {}) {
		assertObjectKey(key)
		const ttl = assertTtl(options.expiresInSeconds ?? this.ttl)
		const command = new GetObjectCommand({
			Bucket: this.bucket,
			Key: key,
			ResponseContentDisposition: options.downloadName === undefined ? undefined : contentDisposition(options.downloadName),
			ResponseCacheControl: options.cacheable ? publicCacheControl(ttl) : PRIVATE_CACHE_CONTROL,
		})
		if (!options.cacheable) return getSignedUrl(this.client, command, { expiresIn: ttl })
		// Signed as of the window's start: the same URL all window long, valid to the end of the next.
		const window = cacheWindow(ttl)
		return getSignedUrl(this.client, command, { expiresIn: window.expiresAt - window.start, signingDate: new Date(window.start * 1000) })
	}
}

/** The S3 driver (see Storage). */
export function createS3Storage(config: S3Config): Storage {
	return new S3Storage(config)
}
