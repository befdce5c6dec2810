import crypto from 'node:crypto'
import { privileged, withUser } from '#app/utils/db.server.ts'
import { ApiError } from './errors.server.ts'

/**
 * Idempotent POSTs (decision 013). The first request with a given `Idempotency-Key` claims the
 * key (a committed row, so a concurrent duplicate sees it and gets a 409), runs, and stores its
 * response; a retry with the same method, path and body gets that response again; a different
 * request with the same key gets a 422. Records live 24 h (purged by the maintenance job).
 */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key'
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000

/** The Idempotency-Key of the request (null when absent), or a 400 when it is malformed. */
export function idempotencyKeyOf(request: Request): string | null {
	const key = request.headers.get(IDEMPOTENCY_HEADER)
	if (key === null) return null
	if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw new ApiError('invalid_idempotency_key', 'api.error.idempotencyKeyInvalid')
	return key
}

/** The fingerprint of a request whose body was read whole (JSON). */
export function requestHash(method: string, url: URL, body: Uint8Array) {
	return crypto.createHash('sha256').update(`${method}\n${url.pathname}${url.search}\n`).update(body).digest('hex')
}

export type Claim =
	| { state: 'new' }
	| { state: 'in_flight'; requestHash: string | null }
	| { state: 'done'; requestHash: string | null; status: number; body: string }

/** Claims `key` for this user, or says what the first request with it became. */
export function claimIdempotencyKey(userId: string, key: string, hash: string | null): Promise<Claim> {
	return withUser(userId, async (tx) => {
		// An expired record is as good as absent (the purge job may not have run yet).
		await tx.idempotencyKey.deleteMany({ where: { userId, key, expiresAt: { lte: new Date() } } })
		const inserted = await tx.$executeRaw`
			INSERT INTO idempotency_keys (user_id, key, request_hash, expires_at)
			VALUES (${userId}::uuid, ${key}, ${hash}, ${new Date(Date.now() + IDEMPOTENCY_TTL_MS)})
			ON CONFLICT (user_id, key) DO NOTHING`
		if (inserted === 1) return { state: 'new' }
		const existing = await tx.idempotencyKey.findUniqueOrThrow({
			where: { userId_key: { userId, key } },
			select: { requestHash: true, responseStatus: true, responseBody: true },
		})
		if (existing.responseStatus === null) return { state: 'in_flight', requestHash: existing.requestHash }
		return { state: 'done', requestHash: existing.requestHash, status: existing.responseStatus, body: existing.responseBody ?? '' }
	})
}

/** Stores the response of the request that claimed `key` (and its fingerprint, when known only now). */
export async function completeIdempotencyKey(userId: string, key: string, result: { hash: string; status: number; body: string }) {
	await withUser(userId, (tx) =>
		tx.idempotencyKey.updateMany({
			where: { userId, key, responseStatus: null },
			data: { requestHash: result.hash, responseStatus: result.status, responseBody: result.body },
		}),
	)
}

/**
 * Gives the key back when nothing was done: a 429 (the client must be able to retry after
 * Retry-After with the same key), or an upload whose body never arrived whole (the client went
 * away before anything was decided on a complete request).
 */
export async function releaseIdempotencyKey(userId: string, key: string) {
	await withUser(userId, (tx) => tx.idempotencyKey.deleteMany({ where: { userId, key, responseStatus: null } }))
}

/** Deletes records past their 24 h (maintenance job). */
export function purgeIdempotencyKeys(now = new Date()) {
	return privileged().idempotencyKey.deleteMany({ where: { expiresAt: { lte: now } } })
}

/**
 * Hashes a multipart body as it streams through, with every occurrence of its boundary left
 * out: clients draw a new random boundary for each attempt, so a retry of the same files would
 * otherwise never match. The rest (part headers, file names, bytes) is hashed as sent.
 */
export class MultipartFingerprint {
	private readonly hash: crypto.Hash
	private readonly token: Buffer
	private carry = Buffer.alloc(0)
	private reader: ReadableStreamDefaultReader<Uint8Array> | null = null
	/** True once the whole body went through (not cut short). */
	complete = false

	constructor(method: string, url: URL, boundary: string) {
		this.token = Buffer.from(`--${boundary}`)
		this.hash = crypto.createHash('sha256').update(`${method}\n${url.pathname}${url.search}\nmultipart\n`)
	}

	/** The same body for the handler, hashed as it reads it (pull by pull: nothing is read ahead). */
	wrap(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
		const reader = (this.reader = body.getReader())
		return new ReadableStream<Uint8Array>(
			{
				pull: async (controller) => {
					const { done, value } = await this.read(reader)
					if (done) controller.close()
					else controller.enqueue(value)
				},
				cancel: () => {},
			},
			{ highWaterMark: 0 },
		)
	}

	/**
	 * Reads and hashes what the handler left unread (a multipart epilogue, or a whole upload it
	 * refused early), up to `maxBytes`; false when the body was cut short or too long.
	 */
	async drain(maxBytes: number) {
		if (!this.reader) return false
		let read = 0
		try {
			while (!this.complete) {
				const { value } = await this.read(this.reader)
				read += value?.length ?? 0
				if (read > maxBytes) return false
			}
			return true
		} catch {
			return false
		}
	}

	/** Hashes a body that is only read to be compared (a replayed request). */
	async consume(body: ReadableStream<Uint8Array>, maxBytes: number) {
		this.reader = body.getReader()
		return this.drain(maxBytes)
	}

	private async read(reader: ReadableStreamDefaultReader<Uint8Array>) {
		const result = await reader.read()
		if (result.done) this.complete = true
		else this.feed(Buffer.from(result.value.buffer, result.value.byteOffset, result.value.byteLength))
		return result
	}

	private feed(chunk: Buffer) {
		const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk
		let start = 0
		for (let at = data.indexOf(this.token, start); at !== -1; at = data.indexOf(this.token, start)) {
			this.hash.update(data.subarray(start, at))
			start = at + this.token.length
		}
		// The last bytes may be the beginning of a boundary split across chunks: keep them for later.
		const keep = Math.min(this.token.length - 1, data.length - start)
		this.hash.update(data.subarray(start, data.length - keep))
		this.carry = Buffer.from(data.subarray(data.length - keep))
	}

	digest() {
		this.hash.update(this.carry)
		this.carry = Buffer.alloc(0)
		return this.hash.digest('hex')
	}
}

/** The boundary parameter of a multipart Content-Type, or null. */
export function multipartBoundary(contentType: string) {
	const match = /^multipart\/form-data\s*;.*?\bboundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType)
	return match ? (match[1] ?? match[2]!) : null
}
