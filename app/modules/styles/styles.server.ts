// Custom styles for virtual staging: a named prompt, with an optional example photo, that the
// order form offers as `custom:<id>`. Every query goes through withUser (RLS) AND filters by userId.
import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import busboy from 'busboy'
import sharp from 'sharp'
import { z } from 'zod'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { SNIFF_BYTES, sniffFormat, webpOptions } from '#app/modules/photos/image.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { isPgError, withUser } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'

/** Largest example photo accepted, in bytes. */
export const EXAMPLE_MAX_BYTES = 10 * 1024 * 1024
/** Longest side of the stored example, in pixels (never upscaled). */
const EXAMPLE_MAX_SIDE = 1024

// C0 and C1 controls, and the bidi overrides that can disguise a name. The prompt keeps line breaks.
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/
const UNSAFE_IN_PROMPT = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

const StyleFields = z.object({
	name: z
		.string()
		.normalize('NFC')
		.trim()
		.min(1, 'styles.error.nameRequired')
		.max(60, 'styles.error.nameTooLong')
		.refine((name) => !UNSAFE_IN_NAME.test(name), 'styles.error.nameInvalid'),
	prompt: z
		.string()
		.normalize('NFC')
		.overwrite((prompt) => prompt.replace(/\r\n?/g, '\n'))
		.trim()
		.min(10, 'styles.error.promptTooShort')
		.max(500, 'styles.error.promptTooLong')
		.refine((prompt) => !UNSAFE_IN_PROMPT.test(prompt), 'styles.error.promptInvalid'),
})

export type StyleFieldErrors = Partial<Record<'name' | 'prompt' | 'example', MessageKey>>

/** The submitted form: text fields, and the example file's bytes (or why it was refused while reading). */
export type StyleForm = {
	fields: Record<string, string>
	example: { bytes: Buffer } | { error: MessageKey } | null
}

type Outcome = { ok: true; id: string } | { ok: false; errors: StyleFieldErrors }

class StorageFailure extends Error {}

const isUuid = (id: string) => z.uuid().safeParse(id).success

const styleSelect = { id: true, name: true, prompt: true, exampleKey: true, updatedAt: true } as const

async function withExampleUrl<T extends { exampleKey: string | null }>({ exampleKey, ...style }: T) {
	return { ...style, example: exampleKey ? { url: await getStorage().signedUrl(exampleKey, { cacheable: true }) } : null }
}

/** The user's styles by name, each with a signed (cacheable) URL of its example. */
export async function listStyles(userId: string) {
	const styles = await withUser(userId, (tx) =>
		tx.customStyle.findMany({ where: { userId }, orderBy: { name: 'asc' }, select: styleSelect }),
	)
	return Promise.all(styles.map(withExampleUrl))
}

/** One style of the user, or null (another user's id, or a malformed one, is just "not found"). */
export async function getStyle(userId: string, styleId: string) {
	if (!isUuid(styleId)) return null
	const style = await withUser(userId, (tx) => tx.customStyle.findFirst({ where: { id: styleId, userId }, select: styleSelect }))
	return style ? withExampleUrl(style) : null
}

/**
 * Reads the style form. Multipart (the create/edit forms, which may carry the example) is parsed
 * with busboy: at most EXAMPLE_MAX_BYTES + 1 bytes of the file are ever held in memory, the rest
 * is discarded. Other bodies (the delete form) are read as usual.
 */
export async function readStyleForm(request: Request): Promise<StyleForm> {
	const contentType = request.headers.get('content-type') ?? ''
	if (!contentType.startsWith('multipart/form-data')) {
		const fields: Record<string, string> = {}
		for (const [name, value] of await request.formData()) if (typeof value === 'string') fields[name] ??= value
		return { fields, example: null }
	}
	const form: StyleForm = { fields: {}, example: null }
	if (!request.body) return form
	const parser = busboy({
		headers: { 'content-type': contentType },
		defParamCharset: 'utf8',
		// 'limit' fires when the file REACHES fileSize: +1 lets a file of exactly the limit through.
		// An over-long field is truncated at fieldSize, which the length checks then refuse.
		limits: { fileSize: EXAMPLE_MAX_BYTES + 1, files: 1, fields: 10, fieldSize: 8 * 1024, parts: 11 },
	})
	parser.on('field', (name, value) => (form.fields[name] ??= value))
	parser.on('file', (name, file, info) => {
		if (name !== 'example') return void file.resume()
		const chunks: Buffer[] = []
		let size = 0
		let tooLarge = false
		file.on('data', (chunk: Buffer) => {
			if (tooLarge) return
			size += chunk.length
			chunks.push(chunk)
		})
		file.on('limit', () => {
			tooLarge = true
			chunks.length = 0
		})
		file.on('end', () => {
			// A file input left empty still sends a part, with no name and no bytes.
			if (tooLarge) form.example = { error: 'styles.error.exampleTooLarge' }
			else if (size > 0) form.example = { bytes: Buffer.concat(chunks) }
			else if (info.filename) form.example = { error: 'styles.error.exampleEmpty' }
		})
	})
	const body = Readable.fromWeb(request.body as WebReadableStream)
	try {
		await new Promise<void>((resolve, reject) => {
			parser.on('close', resolve)
			parser.on('error', reject)
			body.on('error', (error) => {
				parser.destroy(error)
				reject(error)
			})
			body.pipe(parser)
		})
	} catch {
		body.destroy()
		throw new Response('Malformed form', { status: 400 })
	}
	return form
}

/** Checks the magic bytes and re-encodes to a ≤ 1024 px WebP without metadata (EXIF, GPS, XMP, ICC). */
async function encodeExample(bytes: Buffer): Promise<{ ok: true; webp: Buffer } | { ok: false; error: MessageKey }> {
	const format = sniffFormat(bytes.subarray(0, SNIFF_BYTES))
	if (format !== 'jpeg' && format !== 'png' && format !== 'webp') return { ok: false, error: 'styles.error.exampleUnsupported' }
	const maxPixels = getEnv().IMAGE_MAX_PIXELS
	const options = { limitInputPixels: maxPixels, failOn: 'error' } as const
	try {
		// Header first: a pixel bomb is refused before anything is decoded.
		const header = await sharp(bytes, options).metadata()
		if (header.format !== format) return { ok: false, error: 'styles.error.exampleUnsupported' }
		if (header.width * header.height > maxPixels) return { ok: false, error: 'styles.error.exampleTooManyPixels' }
		const webp = await sharp(bytes, options)
			.autoOrient()
			.resize({ width: EXAMPLE_MAX_SIDE, height: EXAMPLE_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
			.webp(webpOptions)
			.toBuffer()
		return { ok: true, webp }
	} catch (error) {
		const message = error instanceof Error ? error.message : String(error)
		return { ok: false, error: /pixel limit/i.test(message) ? 'styles.error.exampleTooManyPixels' : 'styles.error.exampleCorrupt' }
	}
}

/** Validated fields and the encoded example (null when none was sent), or the errors to show next to each field. */
async function parseStyleForm(form: StyleForm) {
	const errors: StyleFieldErrors = {}
	const parsed = StyleFields.safeParse({ name: form.fields.name ?? '', prompt: form.fields.prompt ?? '' })
	if (!parsed.success) for (const issue of parsed.error.issues) errors[issue.path[0] as 'name' | 'prompt'] ??= issue.message as MessageKey
	let example: Buffer | null = null
	if (form.example && 'error' in form.example) errors.example = form.example.error
	else if (form.example) {
		const encoded = await encodeExample(form.example.bytes)
		if (encoded.ok) example = encoded.webp
		else errors.example = encoded.error
	}
	if (!parsed.success || errors.example) return { ok: false as const, errors }
	return { ok: true as const, value: parsed.data, example }
}

/** Writes inside the caller's transaction: a failed write rolls the row back. */
async function putExample(key: string, webp: Buffer) {
	try {
		await getStorage().put(key, webp, { contentType: 'image/webp' })
	} catch (error) {
		throw new StorageFailure('example write failed', { cause: error })
	}
}

/** Maps a failed write to the field errors a user can act on; anything else is a real failure. */
function refusal(error: unknown): Outcome {
	if (isPgError(error, '23505')) return { ok: false, errors: { name: 'styles.error.nameTaken' } }
	if (error instanceof StorageFailure) {
		log.error('style example storage failed', { error: error.cause })
		return { ok: false, errors: { example: 'styles.error.storage' } }
	}
	throw error
}

/** Creates a style; a refused name, prompt or file leaves no row and no object. */
export async function createStyle(userId: string, form: StyleForm): Promise<Outcome> {
	const input = await parseStyleForm(form)
	if (!input.ok) return input
	const id = crypto.randomUUID()
	const key = input.example ? storageKeys.styleExample(userId, id, 'webp') : null
	try {
		await withUser(userId, async (tx) => {
			await tx.customStyle.create({ data: { id, userId, ...input.value, exampleKey: key }, select: { id: true } })
			if (key && input.example) await putExample(key, input.example)
		})
	} catch (error) {
		// Written, but the commit failed: the object must not outlive its row.
		if (key)
			await getStorage()
				.delete(key)
				.catch((cleanupError) => log.error('style cleanup failed', { error: cleanupError }))
		return refusal(error)
	}
	return { ok: true, id }
}

/**
 * Renames / rewrites a style, and replaces (a new file) or removes (`removeExample=yes`) its example;
 * null when the style is not the user's.
 */
export async function updateStyle(userId: string, styleId: string, form: StyleForm): Promise<Outcome | null> {
	const current = await getStyle(userId, styleId)
	if (!current) return null
	const input = await parseStyleForm(form)
	if (!input.ok) return input
	const key = storageKeys.styleExample(userId, styleId, 'webp')
	const remove = !input.example && form.fields.removeExample === 'yes'
	try {
		const found = await withUser(userId, async (tx) => {
			const { count } = await tx.customStyle.updateMany({
				where: { id: styleId, userId },
				data: { ...input.value, ...(input.example ? { exampleKey: key } : remove ? { exampleKey: null } : {}) },
			})
			if (count !== 1) return false
			if (input.example) await putExample(key, input.example)
			else if (remove) await getStorage().delete(key)
			return true
		})
		return found ? { ok: true, id: styleId } : null
	} catch (error) {
		return refusal(error)
	}
}

/**
 * Deletes a style and its example object (the object first, inside the transaction: a storage
 * failure keeps the row, so nothing is orphaned). Past transformations keep their result; their
 * link to the style becomes null (FK SET NULL). False when the style is not the user's.
 */
export async function deleteStyle(userId: string, styleId: string) {
	if (!isUuid(styleId)) return false
	return withUser(userId, async (tx) => {
		const style = await tx.customStyle.findFirst({ where: { id: styleId, userId }, select: { exampleKey: true } })
		if (!style) return false
		await tx.customStyle.deleteMany({ where: { id: styleId, userId } })
		const storage = getStorage()
		for (const key of new Set([storageKeys.styleExample(userId, styleId, 'webp'), style.exampleKey])) if (key) await storage.delete(key)
		return true
	})
}
