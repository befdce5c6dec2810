import crypto from 'node:crypto'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import busboy from 'busboy'
import sharp from 'sharp'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import { findProjectId } from '#app/modules/projects/projects.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { privileged, withUser, type Tx } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { imageTypes, sniffFormat, type ImageFormat } from './image.server.ts'

/** What happened to one file of an upload request. */
export type UploadResult =
	{ name: string; ok: true; photoId: string } | { name: string; ok: false; error: MessageKey; vars: Record<string, string | number> }

const MAX_FILES_PER_REQUEST = 30
/**
 * The buffer of each stage between the socket and storage (busboy, the file stream, Inspector):
 * a few socket reads. Bounded memory per upload (a few MiB whatever the file's size).
 */
const STREAM_BUFFER_BYTES = 512 * 1024
const HEAD_BYTES = 256 * 1024
const TAIL_BYTES = 32

/** The request's project is not the user's (or not live): thrown by receiveUploads, a 404 for the route. */
export class UploadProjectNotFound extends Error {
	override name = 'UploadProjectNotFound'
}

/** `admitted` said no (the caller's rate limit): nothing was kept, thrown by receiveUploads. */
export class UploadNotAdmitted extends Error {
	override name = 'UploadNotAdmitted'
}

class UploadRefused extends Error {
	constructor(readonly reason: MessageKey) {
		super(reason)
	}
}

/** What the user's photos already weigh (the quota counts originals). */
export async function storedBytes(tx: Tx, userId: string) {
	const used = await tx.photo.aggregate({ where: { userId }, _sum: { sizeBytes: true } })
	return Number(used._sum.sizeBytes ?? 0)
}

/** A display name safe to store and to offer as a download name: no path, no control characters. */
export function sanitizeFilename(raw: string | undefined): string {
	let name = (raw ?? '')
		.normalize('NFC')
		.replace(/[\u0000-\u001f\u007f]/g, ' ')
		.split(/[\\/]/)
		.pop()!
		.trim()
	if (!name || name === '.' || name === '..') name = 'photo'
	if (name.length > 200) {
		const ext = /\.[A-Za-z0-9]{1,5}$/.exec(name)?.[0] ?? ''
		name = name.slice(0, 200 - ext.length) + ext
	}
	return name
}

/** Reads the first bytes of a stream without consuming them (or the whole stream if shorter). */
function peek(stream: Readable, bytes: number): Promise<{ head: Buffer; rest: Readable }> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = []
		let length = 0
		const cleanup = () => {
			stream.off('data', onData)
			stream.off('end', onEnd)
			stream.off('error', reject)
		}
		const onData = (chunk: Buffer) => {
			chunks.push(chunk)
			length += chunk.length
			if (length < bytes) return
			cleanup()
			stream.pause()
			const head = Buffer.concat(chunks)
			stream.unshift(head)
			resolve({ head, rest: stream })
		}
		const onEnd = () => {
			cleanup()
			const head = Buffer.concat(chunks)
			resolve({ head, rest: Readable.from([head]) })
		}
		stream.on('data', onData)
		stream.on('end', onEnd)
		stream.on('error', reject)
	})
}

/**
 * Socket reads hand the body over in 64 KiB buffers that only a garbage collection frees. While a
 * big file streams, the JavaScript heap barely grows, so V8 collects late (on external-memory
 * pressure, ~20–25 MB in): the process' peak grows with the file up to that point. A minor
 * collection every GC_EVERY_BYTES keeps the peak flat whatever the size (measured: +25 MB → see
 * bench/upload.ts). Needs the gc() function: exposed here once (V8 flag, then a fresh context).
 */
const GC_EVERY_BYTES = 8 * 1024 * 1024
const minorGc = (() => {
	try {
		v8.setFlagsFromString('--expose-gc')
		const gc = vm.runInNewContext('gc') as ((options: { type: 'minor'; execution: 'sync' | 'async' }) => void) | undefined
		return typeof gc === 'function' ? () => gc({ type: 'minor', execution: 'sync' }) : () => {}
	} catch {
		return () => {}
	}
})()

/**
 * Counts and bounds the bytes on their way to storage; keeps the first and last ones. No hash here:
 * the photo-process job reads the whole file anyway and records its sha256 (and its twin) there.
 * The end of the stream is held back until `gate` resolves (the photo row exists): storage
 * commits the object only once its row does, so a crash never leaves an object without a row.
 */
class Inspector extends Transform {
	size = 0
	head: Buffer[] = []
	headLength = 0
	tail = Buffer.alloc(0)
	/** The first HEAD_BYTES (or the whole file if shorter), as soon as they have passed. */
	readonly headReady: Promise<Buffer>
	private resolveHead!: (head: Buffer) => void
	/** Every byte has passed (size, hash and tail are final) and the row exists; storage still has to make them durable. */
	readonly allIn: Promise<void>
	private resolveAllIn!: () => void
	private sinceGc = 0

	constructor(
		private readonly maxBytes: number,
		private readonly quotaLeft: () => number,
		private readonly gate: Promise<boolean>,
	) {
		super({ highWaterMark: STREAM_BUFFER_BYTES })
		this.headReady = new Promise((resolve) => (this.resolveHead = resolve))
		this.allIn = new Promise((resolve) => (this.resolveAllIn = resolve))
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
		this.size += chunk.length
		if (this.size > this.maxBytes) return callback(new UploadRefused('photos.error.tooLarge'))
		if (this.size > this.quotaLeft()) return callback(new UploadRefused('photos.error.quota'))
		if (this.headLength < HEAD_BYTES) {
			this.head.push(chunk.subarray(0, HEAD_BYTES - this.headLength))
			this.headLength += Math.min(chunk.length, HEAD_BYTES - this.headLength)
			if (this.headLength >= HEAD_BYTES) this.resolveHead(Buffer.concat(this.head))
		}
		this.tail = Buffer.concat([this.tail, chunk.subarray(-TAIL_BYTES)]).subarray(-TAIL_BYTES)
		this.sinceGc += chunk.length
		if (this.sinceGc >= GC_EVERY_BYTES) {
			this.sinceGc = 0
			minorGc()
		}
		callback(null, chunk)
	}

	override _flush(callback: TransformCallback) {
		this.resolveHead(Buffer.concat(this.head))
		this.gate.then(
			(open) => {
				if (!open) return callback(new UploadRefused('photos.error.unsupported'))
				// The usage may have become known on the way (see receiveUploads): checked once more.
				if (this.size > this.quotaLeft()) return callback(new UploadRefused('photos.error.quota'))
				this.resolveAllIn()
				callback(null)
			},
			(error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
		)
	}
}

const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82])

/** A cheap completeness check on the last bytes: a truncated file is refused at upload time. */
function looksComplete(format: ImageFormat, tail: Buffer, head: Buffer, size: number) {
	switch (format) {
		case 'jpeg':
			// EOI marker at the end (some cameras pad a few bytes after it).
			return tail.includes(Buffer.from([0xff, 0xd9]))
		case 'png':
			return tail.subarray(-PNG_IEND.length).equals(PNG_IEND)
		case 'webp':
			return head.length >= 8 && head.readUInt32LE(4) + 8 === size
		case 'heic':
			return size > 0
	}
}

/** Declared dimensions from the header (cheap); null when the header is not enough to tell. */
async function declaredPixels(head: Buffer): Promise<number | null> {
	try {
		const { width, height } = await sharp(head, { limitInputPixels: false }).metadata()
		return width && height ? width * height : null
	} catch {
		return null
	}
}

/**
 * Streams each file of a multipart request (`body`, as a Node stream; `request` gives its headers
 * and abort signal) straight to storage, never a whole file in memory, with the size limit and
 * quota enforced while streaming and the type read from magic bytes.
 * Each file succeeds or fails alone; a failed file leaves no row, no object, no temp file.
 */
export async function receiveUploads(
	request: Request,
	body: Readable | null,
	input: {
		userId: string
		projectId: string
		usedBytes?: number
		/**
		 * Whether this request may store anything (the route's rate limit, counted while the first
		 * bytes already flow): no row is written before it says yes; no, and nothing is kept, nothing
		 * more is read, UploadNotAdmitted is thrown. Must not reject.
		 */
		admitted?: Promise<boolean>
	},
): Promise<UploadResult[]> {
	const env = getEnv()
	const admitted = input.admitted ?? Promise.resolve(true)
	const contentType = request.headers.get('content-type') ?? ''
	// Without `usedBytes` and without a file row to tell it (no file, or every one refused before its
	// row): whose project is it? Nothing is written either way, but another user's answers 404.
	const ownedOrThrow = async () => {
		if (!(await withUser(input.userId, (tx) => findProjectId(tx, input.userId, input.projectId)))) throw new UploadProjectNotFound()
	}
	if (!contentType.startsWith('multipart/form-data') || !body) {
		if (!(await admitted)) throw new UploadNotAdmitted()
		if (input.usedBytes === undefined) await ownedOrThrow()
		return []
	}
	// Without `usedBytes`, the first file's row tells what the user already stores and that the
	// project is theirs (one statement instead of a transaction of its own before the body): until
	// then the whole quota bounds the stream, and every file is kept only once it is known.
	let remainingQuota = env.STORAGE_QUOTA_BYTES - (input.usedBytes ?? 0)
	let learnUsage: ((used: number | null) => void) | undefined
	const usage =
		input.usedBytes === undefined ? new Promise<number | null>((resolve) => (learnUsage = resolve)) : Promise.resolve(input.usedBytes)
	let notTheirs = false
	let refusedWhole = false
	// No row is written before `admitted` (see receiveOne), so the usage can only come after it.
	const known = admitted.then(async (ok) => {
		if (!ok) return void (refusedWhole = true)
		const used = await usage
		if (used === null) notTheirs = true
		else if (input.usedBytes === undefined) remainingQuota -= used
	})

	const parser = busboy({
		headers: { 'content-type': contentType },
		defParamCharset: 'utf8',
		// Room for a few socket reads (64 KiB each) at every step: with the default buffers every
		// read filled one and paused the socket again (see STREAM_BUFFER_BYTES).
		highWaterMark: STREAM_BUFFER_BYTES,
		fileHwm: STREAM_BUFFER_BYTES,
		// busboy's 'limit' fires when the size REACHES fileSize: +1 lets a file of exactly the limit through.
		limits: {
			fileSize: env.UPLOAD_MAX_BYTES + 1,
			files: MAX_FILES_PER_REQUEST,
			fields: 20,
			fieldSize: 4096,
			parts: MAX_FILES_PER_REQUEST + 20,
		},
	})
	const pending: Promise<UploadResult>[] = []
	let tooMany = false
	const abort = new AbortController()
	request.signal.addEventListener('abort', () => abort.abort(request.signal.reason), { once: true })

	parser.on('file', (_field, file, info) => {
		pending.push(
			receiveOne(file, info.filename, {
				...input,
				admitted,
				known,
				report: (used) => {
					learnUsage?.(used)
					learnUsage = undefined
				},
				signal: abort.signal,
				allowed: () => remainingQuota,
			}).then((result) => {
				if (result.ok) remainingQuota -= result.size
				return result.result
			}),
		)
	})
	parser.on('filesLimit', () => (tooMany = true))

	await new Promise<void>((resolve) => {
		const finish = () => resolve()
		parser.on('close', finish)
		parser.on('error', (error) => {
			abort.abort(error)
			finish()
		})
		body.on('error', (error) => {
			abort.abort(error)
			parser.destroy(error)
			finish()
		})
		void known.then(() => {
			if (!notTheirs && !refusedWhole) return
			// Not admitted, or not the user's project: nothing is kept and nothing more is read
			// (destroying the parser ends the file in flight); the route answers 429 or 404.
			body.unpipe(parser)
			parser.destroy(new UploadRefused('photos.error.unsupported'))
		})
		body.pipe(parser)
	})
	const results = await Promise.all(pending)
	if (!(await admitted)) throw new UploadNotAdmitted()
	if (notTheirs) throw new UploadProjectNotFound()
	if (learnUsage) await ownedOrThrow()
	if (tooMany) results.push({ name: '', ok: false, error: 'photos.error.tooManyFiles', vars: { max: MAX_FILES_PER_REQUEST } })
	return results
}

async function receiveOne(
	file: Readable,
	rawName: string | undefined,
	input: {
		userId: string
		projectId: string
		signal: AbortSignal
		allowed: () => number
		/** Whether the request may store anything at all (see receiveUploads): the row waits for it. */
		admitted: Promise<boolean>
		/** Settles once the user's usage (and that the project is theirs) is known. */
		known: Promise<void>
		/** The first file's row reports the usage it read (null: no such project for this user). */
		report: (used: number | null) => void
	},
): Promise<{ ok: true; size: number; result: UploadResult } | { ok: false; result: UploadResult }> {
	const env = getEnv()
	const name = sanitizeFilename(rawName)
	const mb = Math.round(env.UPLOAD_MAX_BYTES / 1024 / 1024)
	const refuse = (error: MessageKey) => ({
		ok: false as const,
		result: { name, ok: false as const, error, vars: { name, mb, mp: Math.round(env.IMAGE_MAX_PIXELS / 1_000_000) } },
	})
	// Never leave a file stream unconsumed: busboy (and the request) would stall.
	const drain = () => file.resume()

	let format: ImageFormat | null
	let source: Readable
	try {
		const { head, rest } = await peek(file, 32)
		if (head.length === 0) return (drain(), refuse('photos.error.empty'))
		format = sniffFormat(head)
		source = rest
	} catch {
		return (drain(), refuse('photos.error.aborted'))
	}
	if (!format) return (drain(), refuse('photos.error.unsupported'))
	if (input.allowed() <= 0) return (drain(), refuse('photos.error.quota'))

	const photoId = crypto.randomUUID()
	const key = storageKeys.original(input.userId, input.projectId, photoId, imageTypes[format].ext)
	// The `uploading` row is written while the first bytes already flow to storage; the Inspector
	// holds the end of the stream back until it exists (see there). One statement: the project is
	// still the user's and live, or nothing is written; it also reads what the user's originals
	// already weigh (the quota, see receiveUploads).
	const created = input.admitted.then(async (ok) => {
		if (!ok) return false
		return withUser(input.userId, async (tx) => {
			const rows = await tx.$queryRaw<{ used: number }[]>`
			INSERT INTO photos (id, user_id, project_id, status, original_key, original_filename, content_type)
			SELECT ${photoId}::uuid, ${input.userId}::uuid, ${input.projectId}::uuid, 'uploading', ${key}, ${name}, ${imageTypes[format].contentType}
			WHERE EXISTS (SELECT 1 FROM projects WHERE id = ${input.projectId}::uuid AND user_id = ${input.userId}::uuid AND deleted_at IS NULL)
			RETURNING (SELECT COALESCE(sum(size_bytes), 0) FROM photos WHERE user_id = ${input.userId}::uuid)::float8 AS "used"`
			input.report(rows[0] ? Number(rows[0].used) : null)
			return rows.length === 1
		})
	})
	// Settled, whatever happens, before a failure's cleanup deletes the row (else it could land after).
	const settled = created.catch(() => false)

	const storage = getStorage()
	// Kept only once its row exists and the user's usage is known.
	const gate = Promise.all([created, input.known]).then(([ok]) => ok)
	const inspector = new Inspector(env.UPLOAD_MAX_BYTES, input.allowed, gate)
	const controller = new AbortController()
	const onAbort = () => controller.abort(input.signal.reason)
	input.signal.addEventListener('abort', onAbort, { once: true })
	let refusal: MessageKey | null = null
	file.on('limit', () => {
		refusal = 'photos.error.tooLarge'
		inspector.destroy(new UploadRefused('photos.error.tooLarge'))
	})
	source.on('error', (error) => inspector.destroy(error))
	inspector.on('error', (error) => {
		if (error instanceof UploadRefused) refusal ??= error.reason
		// Keep the multipart stream flowing to the next file.
		source.unpipe(inspector)
		drain()
	})
	// The project went away before the row could be written: stop now rather than at the end.
	created.then(
		(ok) => ok || inspector.destroy(new UploadRefused('photos.error.unsupported')),
		(error: unknown) => inspector.destroy(error instanceof Error ? error : new Error(String(error))),
	)
	// The decompression-bomb check reads the header: started as soon as the head has passed.
	const pixels = format === 'heic' ? Promise.resolve(null) : inspector.headReady.then(declaredPixels)
	let stored: Promise<unknown> | undefined
	try {
		source.pipe(inspector)
		stored = storage.put(key, inspector, { contentType: imageTypes[format].contentType, signal: controller.signal })
		// Once every byte is in, the checks and the row's final statement run while storage makes the
		// file durable (the last fsync, the rename): only the COMMIT waits for it, so a crash never
		// leaves a `processing` row without its object, and the request saves those round trips.
		await Promise.race([inspector.allIn, stored])
		const head = Buffer.concat(inspector.head)
		if (file.readableAborted || input.signal.aborted) throw new UploadRefused('photos.error.aborted')
		if (!looksComplete(format, inspector.tail, head, inspector.size)) throw new UploadRefused('photos.error.corrupt')
		const declared = await pixels
		if (declared !== null && declared > env.IMAGE_MAX_PIXELS) throw new UploadRefused('photos.error.tooManyPixels')
		// One statement marks it `processing` with its size (its hash and twin come with processing).
		await withUser(input.userId, async (tx) => {
			const updated = await tx.$executeRaw`
				UPDATE photos SET status = 'processing', size_bytes = ${inspector.size}::bigint, updated_at = now()
				WHERE id = ${photoId}::uuid AND user_id = ${input.userId}::uuid`
			if (updated !== 1) throw new Error(`photo ${photoId} vanished during its upload`)
			await enqueue('photo-process', { photoId }, { tx, singletonKey: photoId })
			// Committed only once the object is durable; a storage failure rolls all of it back.
			await stored
			if (file.readableAborted || input.signal.aborted) throw new UploadRefused('photos.error.aborted')
		})
		return { ok: true, size: inspector.size, result: { name, ok: true, photoId } }
	} catch (error) {
		const reason: MessageKey =
			refusal ?? (error instanceof UploadRefused ? error.reason : input.signal.aborted ? 'photos.error.aborted' : 'photos.error.storage')
		if (reason === 'photos.error.storage') log.error('upload failed', { error })
		drain()
		// Nothing of a refused file stays: object (if any) and row. Storage may still be at work (a
		// refusal at the last byte): stopped, or let finish, before the object is deleted.
		controller.abort(error)
		await stored?.catch(() => {})
		await settled
		await storage.delete(key).catch((cleanupError) => log.error('upload cleanup failed', { error: cleanupError }))
		await privileged().photo.deleteMany({ where: { id: photoId, userId: input.userId } })
		return refuse(reason)
	} finally {
		input.signal.removeEventListener('abort', onAbort)
	}
}
