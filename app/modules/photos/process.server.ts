import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { notifyProject } from '#app/modules/events/project-events.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { privileged, privilegedLocked } from '#app/utils/db.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { ImageError, processImage, type Variant } from './image.server.ts'

/** Variants never change once made (their key names the photo): cache them for a year. */
const VARIANT_CACHE = 'public, max-age=31536000, immutable'
/** The first key of the per-project twin lock (the two-int form; 7010 is the batch lock, 7011 the ledger's). */
const TWINS_LOCK_SPACE = 7_012

/**
 * The photo-process job: decodes the stored original (pixel cap, orientation), stores the
 * thumbnail and preview without personal metadata, records dimensions and sha256 (and the
 * earlier photo of the project with the same bytes, if any: a duplicate), and makes the first
 * ready photo the project's cover. Idempotent: a photo that is not `processing`
 * (deleted, already done) is left alone. A file that cannot be decoded is marked `error`
 * and its original is deleted; other failures throw so pg-boss retries.
 */
export async function processPhoto(photoId: string) {
	const db = privileged()
	const photo = await db.photo.findUnique({
		where: { id: photoId },
		select: { id: true, userId: true, projectId: true, status: true, originalKey: true },
	})
	if (!photo || photo.status !== 'processing') return
	const storage = getStorage()
	const tmp = path.join(os.tmpdir(), `renzo-photo-${photoId}-${crypto.randomBytes(4).toString('hex')}`)
	try {
		const original = await storage.get(photo.originalKey)
		if (!original) {
			await db.photo.update({ where: { id: photoId }, data: { status: 'error', errorCode: 'missing' } })
			await notifyProject(db, { projectId: photo.projectId, type: 'photo', id: photoId, status: 'error' })
			return
		}
		await pipeline(original.body, fs.createWriteStream(tmp))
		let result
		try {
			result = await processImage(tmp)
		} catch (error) {
			if (!(error instanceof ImageError)) throw error
			log.warn('photo refused at decoding', { photoId, code: error.code })
			await storage.delete(photo.originalKey)
			await db.photo.update({ where: { id: photoId }, data: { status: 'error', errorCode: error.code } })
			await notifyProject(db, { projectId: photo.projectId, type: 'photo', id: photoId, status: 'error' })
			return
		}
		const variants: (Variant & { key: string })[] = []
		for (const variant of result.variants) {
			const key = storageKeys.variant(photo.userId, photo.projectId, photo.id, variant.kind)
			await storage.put(key, variant.data, { contentType: variant.contentType, cacheControl: VARIANT_CACHE })
			variants.push({ ...variant, key })
		}
		// Twins are told apart one at a time per project: of two copies processed at once, the second
		// to take the project's lock (sent with the BEGIN) sees the first one's hash and is the one flagged.
		await privilegedLocked({ space: TWINS_LOCK_SPACE, key: photo.projectId }, async (tx) => {
			// The photo may have been deleted meanwhile: then its variants must not outlive it. Its twin is
			// the earliest original (not itself a twin) of the project with the same bytes; only a ready
			// photo has a sha256.
			const still = await tx.$executeRaw`
				UPDATE photos SET status = 'ready', width = ${result.width}, height = ${result.height}, sha256 = ${result.sha256},
					error_code = NULL, updated_at = now(),
					duplicate_of_id = (
						SELECT t.id FROM photos t
						WHERE t.project_id = ${photo.projectId}::uuid AND t.sha256 = ${result.sha256} AND t.id <> ${photoId}::uuid
							AND t.duplicate_of_id IS NULL
						ORDER BY t.created_at ASC LIMIT 1
					)
				WHERE id = ${photoId}::uuid AND status = 'processing'`
			if (still === 0) return
			for (const v of variants) {
				await tx.photoVariant.upsert({
					where: { key: v.key },
					create: {
						userId: photo.userId,
						photoId,
						kind: v.kind,
						key: v.key,
						contentType: v.contentType,
						width: v.width,
						height: v.height,
						sizeBytes: v.data.length,
					},
					update: { width: v.width, height: v.height, sizeBytes: v.data.length },
				})
			}
			await tx.project.updateMany({ where: { id: photo.projectId, coverPhotoId: null }, data: { coverPhotoId: photoId } })
			await notifyProject(tx, { projectId: photo.projectId, type: 'photo', id: photoId, status: 'ready' })
		})
		const current = await db.photo.findUnique({ where: { id: photoId }, select: { id: true } })
		if (!current) for (const v of variants) await storage.delete(v.key)
	} finally {
		await fs.promises.rm(tmp, { force: true })
	}
}
