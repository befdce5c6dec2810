import { z } from 'zod'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { cancelTransformation } from '#app/modules/transformations/run.server.ts'
import { privileged, withUser, type Tx } from '#app/utils/db.server.ts'

/** The photos of one of the user's projects, oldest first, with a signed thumbnail URL when ready. */
export async function listProjectPhotos(tx: Tx, userId: string, projectId: string) {
	const photos = await tx.photo.findMany({
		where: { userId, projectId },
		orderBy: { createdAt: 'asc' },
		select: {
			id: true,
			status: true,
			originalFilename: true,
			width: true,
			height: true,
			errorCode: true,
			duplicateOfId: true,
			variants: { where: { kind: 'thumbnail', transformationId: null }, select: { key: true, width: true, height: true } },
		},
	})
	const storage = getStorage()
	return Promise.all(
		photos.map(async ({ variants, ...photo }) => {
			const thumbnail = variants[0]
			return {
				...photo,
				thumbnail: thumbnail
					? { url: await storage.signedUrl(thumbnail.key, { cacheable: true }), width: thumbnail.width, height: thumbnail.height }
					: null,
			}
		}),
	)
}

/** One photo of the user's project with its preview and a full-resolution download URL, or null. */
export async function getPhoto(tx: Tx, userId: string, projectId: string, photoId: string) {
	if (!z.uuid().safeParse(photoId).success || !z.uuid().safeParse(projectId).success) return null
	const photo = await tx.photo.findFirst({
		where: { id: photoId, projectId, userId, project: { deletedAt: null } },
		select: {
			id: true,
			status: true,
			originalKey: true,
			originalFilename: true,
			sizeBytes: true,
			width: true,
			height: true,
			errorCode: true,
			originalPurgedAt: true,
			createdAt: true,
			variants: { where: { kind: 'preview', transformationId: null }, select: { key: true, width: true, height: true } },
		},
	})
	if (!photo) return null
	const storage = getStorage()
	const preview = photo.variants[0]
	return {
		id: photo.id,
		status: photo.status,
		originalFilename: photo.originalFilename,
		sizeBytes: Number(photo.sizeBytes),
		width: photo.width,
		height: photo.height,
		errorCode: photo.errorCode,
		createdAt: photo.createdAt,
		/** The retention job deleted the original (project archived too long): no download. */
		originalPurgedAt: photo.originalPurgedAt,
		preview: preview
			? { url: await storage.signedUrl(preview.key, { cacheable: true }), width: preview.width, height: preview.height }
			: null,
		downloadUrl:
			photo.status === 'ready' && !photo.originalPurgedAt
				? await storage.signedUrl(photo.originalKey, { downloadName: photo.originalFilename })
				: null,
	}
}

/**
 * Deletes one of the user's photos: its unfinished transformations are cancelled first (their
 * reserved credits go back; the rows go with the photo), then its stored files (idempotent), then
 * its rows. If storage fails the row stays and the user can retry. False when it is not theirs.
 */
export async function deletePhoto(userId: string, projectId: string, photoId: string) {
	if (!z.uuid().safeParse(photoId).success || !z.uuid().safeParse(projectId).success) return false
	const unfinished = await withUser(userId, (tx) =>
		tx.transformation.findMany({
			where: { userId, projectId, photoId, status: { in: ['queued', 'processing'] } },
			select: { id: true },
		}),
	)
	for (const { id } of unfinished) await cancelTransformation(userId, id)
	return withUser(userId, (tx) => deletePhotoRows(tx, userId, projectId, photoId))
}

async function deletePhotoRows(tx: Tx, userId: string, projectId: string, photoId: string) {
	const photo = await tx.photo.findFirst({
		where: { id: photoId, projectId, userId },
		select: { originalKey: true, variants: { select: { key: true } }, transformations: { select: { outputKey: true } } },
	})
	if (!photo) return false
	const storage = getStorage()
	const keys = [
		photo.originalKey,
		...photo.variants.map((v) => v.key),
		...photo.transformations.flatMap((t) => (t.outputKey ? [t.outputKey] : [])),
	]
	for (const key of keys) await storage.delete(key)
	await tx.photo.delete({ where: { id: photoId } })
	await tx.project.updateMany({ where: { id: projectId, userId, coverPhotoId: photoId }, data: { coverPhotoId: null } })
	return true
}

/** Adds each project's cover (the thumbnail of its cover photo, set by the processing job). */
export async function projectCovers<P extends { id: string; coverPhotoId: string | null }>(tx: Tx, userId: string, projects: P[]) {
	const coverIds = projects.flatMap((p) => (p.coverPhotoId ? [p.coverPhotoId] : []))
	const thumbnails = coverIds.length
		? await tx.photoVariant.findMany({
				where: { userId, photoId: { in: coverIds }, kind: 'thumbnail', transformationId: null },
				select: { photoId: true, key: true },
			})
		: []
	const storage = getStorage()
	const urls = new Map(
		await Promise.all(thumbnails.map(async (v) => [v.photoId, await storage.signedUrl(v.key, { cacheable: true })] as const)),
	)
	return projects.map((p) => ({ ...p, cover: p.coverPhotoId && urls.has(p.coverPhotoId) ? { url: urls.get(p.coverPhotoId)! } : null }))
}

/**
 * Uploads cut short by a crash of the web process leave an `uploading` row (and maybe part of
 * an object): after an hour, both go (maintenance job).
 */
export async function purgeStaleUploads(now = new Date()) {
	const db = privileged()
	const stale = await db.photo.findMany({
		where: { status: 'uploading', createdAt: { lt: new Date(now.getTime() - 3_600_000) } },
		select: { id: true, originalKey: true },
		take: 500,
	})
	const storage = getStorage()
	for (const photo of stale) {
		await storage.delete(photo.originalKey)
		await db.photo.deleteMany({ where: { id: photo.id, status: 'uploading' } })
	}
	return stale.length
}
