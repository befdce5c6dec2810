import type { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { ZipFile } from 'yazl'
import { z } from 'zod'
import { cleanDownloadName } from '#app/modules/storage/delivery.ts'
import { getStorage, UnsafeKeyError } from '#app/modules/storage/storage.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { log } from '#app/utils/logger.server.ts'

/** One file of the archive: where it is stored and the path it gets inside the ZIP. */
export type ArchiveEntry = { key: string; path: string; mtime: Date }

// Extraction fails on most systems past 255 bytes per name; keep room for a " (12)" suffix.
const MAX_NAME_BYTES = 230
const MAX_STYLE_CHARS = 60

/**
 * The ZIP of one of the user's live projects: `originaux/` (every stored original) and
 * `transformations/` (every succeeded result), or null when the project is not theirs. The rows
 * are read now, in one short transaction; the files only when `stream()` is read.
 */
export async function projectArchive(userId: string, projectId: string) {
	if (!z.uuid().safeParse(projectId).success) return null
	const found = await withUser(userId, async (tx) => {
		const project = await tx.project.findFirst({ where: { id: projectId, userId, deletedAt: null }, select: { id: true, name: true } })
		if (!project) return null
		const photos = await tx.photo.findMany({
			// 'uploading' has no complete object yet; 'error' originals were refused; purged ones went at retention.
			where: { userId, projectId, status: { notIn: ['uploading', 'error'] }, originalPurgedAt: null },
			orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
			select: { originalKey: true, originalFilename: true, createdAt: true },
		})
		const transformations = await tx.transformation.findMany({
			where: { userId, projectId, status: 'succeeded', outputKey: { not: null } },
			orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
			select: {
				id: true,
				kind: true,
				style: true,
				outputKey: true,
				createdAt: true,
				completedAt: true,
				photo: { select: { originalFilename: true } },
			},
		})
		return { project, photos, transformations }
	})
	if (!found) return null

	const taken = new Set<string>()
	const entries: ArchiveEntry[] = []
	for (const photo of found.photos) {
		entries.push({
			key: photo.originalKey,
			path: uniquePath(taken, 'originaux', entryName(photo.originalFilename)),
			mtime: photo.createdAt,
		})
	}
	for (const t of found.transformations) {
		const ext = /\.([A-Za-z0-9]+)$/.exec(t.outputKey!)?.[1]?.toLowerCase() ?? 'bin'
		const style = t.style ? ` - ${truncateChars(entryName(t.style), MAX_STYLE_CHARS)}` : ''
		const suffix = ` - ${t.kind}${style} - ${t.id.slice(0, 8)}.${ext}`
		const base = entryName(baseName(t.photo.originalFilename))
		entries.push({
			key: t.outputKey!,
			path: uniquePath(taken, 'transformations', truncateBytes(base, MAX_NAME_BYTES - Buffer.byteLength(suffix)) + suffix),
			mtime: t.completedAt ?? t.createdAt,
		})
	}
	return {
		projectName: found.project.name,
		entries,
		/** The ZIP, produced as it is read (see zipStream). */
		stream: (options: { signal?: AbortSignal } = {}) => zipStream(entries, { projectId, signal: options.signal }),
	}
}

/**
 * A ZIP of `entries`, STORE mode (photos are already compressed) with data descriptors, ZIP64
 * when yazl needs it. Objects are opened one at a time, only when the previous one has been
 * read, and read only as fast as the consumer reads (pipe backpressure), so memory stays flat
 * whatever the project weighs. A missing object is logged and left out. When the consumer goes
 * away (`signal` aborts or the stream is destroyed), storage reading stops and the open object
 * is destroyed. A storage failure mid-way destroys the stream with the error: a truncated
 * download must fail, not look complete.
 */
export function zipStream(entries: ArchiveEntry[], context: { projectId: string; signal?: AbortSignal }): Readable {
	const zip = new ZipFile()
	const output = zip.outputStream as Readable
	const storage = getStorage()
	let current: Readable | null = null
	let stopped = false

	function stop(error?: Error) {
		if (stopped) return
		stopped = true
		context.signal?.removeEventListener('abort', onAbort)
		current?.destroy()
		if (!output.destroyed) output.destroy(error)
	}
	// The client is gone: nobody to tell, so no error (it would only be logged as a request failure).
	function onAbort() {
		stop()
	}
	zip.on('error', (error: Error) => {
		log.error('archive: zip failed', { projectId: context.projectId, error })
		stop(error)
	})
	output.on('close', () => stop())
	// A consumer that cancels with a reason destroys the stream with it after removing its own
	// listener (Remix's StreamPump): without this one, that error would crash the process.
	output.on('error', () => {})
	if (context.signal?.aborted) stop()
	else context.signal?.addEventListener('abort', onAbort, { once: true })

	async function pump() {
		for (const entry of entries) {
			if (stopped) return
			const object = await storage.get(entry.key).catch((error: unknown) => {
				if (error instanceof UnsafeKeyError) return null
				throw error
			})
			if (stopped) {
				object?.body.destroy()
				return
			}
			if (!object) {
				log.warn('archive: stored object missing, left out', { projectId: context.projectId, key: entry.key })
				continue
			}
			current = object.body
			const read = finished(object.body)
			zip.addReadStream(object.body, entry.path, { compress: false, mtime: entry.mtime, size: object.size })
			await read
			current = null
		}
		if (!stopped) zip.end()
	}
	pump().catch((error: unknown) => {
		if (stopped) return // our own destroy() of the open object
		log.error('archive: storage read failed', { projectId: context.projectId, error })
		stop(error instanceof Error ? error : new Error(String(error)))
	})
	return output
}

/** A file name fit for a ZIP entry: no path, no control or Windows-reserved characters, no leading dot. */
function entryName(name: string) {
	const cleaned = cleanDownloadName(name)
		.replace(/[<>:"|?*]/g, '_')
		.replace(/^[.\s]+/, '')
		.trim()
	return truncateBytes(cleaned === '' ? 'fichier' : cleaned, MAX_NAME_BYTES, true)
}

/** `folder/name`, with " (2)", " (3)"… before the extension when taken (case-insensitively: Windows and macOS). */
function uniquePath(taken: Set<string>, folder: string, name: string) {
	const dot = name.lastIndexOf('.')
	const [base, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
	let candidate = name
	for (let n = 2; taken.has(`${folder}/${candidate}`.toLowerCase()); n++) candidate = `${base} (${n})${ext}`
	taken.add(`${folder}/${candidate}`.toLowerCase())
	return `${folder}/${candidate}`
}

function baseName(filename: string) {
	const dot = filename.lastIndexOf('.')
	return dot > 0 ? filename.slice(0, dot) : filename
}

function truncateChars(text: string, max: number) {
	const chars = Array.from(text)
	return chars.length > max ? chars.slice(0, max).join('').trim() : text
}

/** At most `maxBytes` of UTF-8, cut between characters; `keepExtension` cuts the base name instead. */
function truncateBytes(text: string, maxBytes: number, keepExtension = false) {
	if (Buffer.byteLength(text) <= maxBytes) return text
	const ext = keepExtension ? (/\.[A-Za-z0-9]{1,5}$/.exec(text)?.[0] ?? '') : ''
	const chars = Array.from(ext ? text.slice(0, -ext.length) : text)
	while (chars.length > 1 && Buffer.byteLength(chars.join('') + ext) > maxBytes) chars.pop()
	return chars.join('').trim() + ext
}
