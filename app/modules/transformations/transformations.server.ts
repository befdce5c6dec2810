import { z } from 'zod'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import type { Tx } from '#app/utils/db.server.ts'
import type { Kind, Quality } from './catalog.ts'

const uuid = z.uuid()

export type TransformationView = Awaited<ReturnType<typeof listPhotoTransformations>>[number]

/** A download name for a result: "salon - virtual_staging - scandinavian.jpg". */
export function resultFilename(original: string, t: { kind: Kind; style: string | null }, ext: string) {
	const base = original.replace(/\.[^.]+$/, '') || 'photo'
	return `${[base, t.kind, t.style].filter(Boolean).join(' - ')}.${ext}`
}

/** A photo's transformations, newest first, with signed URLs for the finished ones (owner only). */
export async function listPhotoTransformations(tx: Tx, userId: string, projectId: string, photoId: string) {
	if (!uuid.safeParse(photoId).success || !uuid.safeParse(projectId).success) return []
	const rows = await tx.transformation.findMany({
		where: { userId, projectId, photoId },
		orderBy: { createdAt: 'desc' },
		take: 100,
		select: {
			id: true,
			batchId: true,
			kind: true,
			roomType: true,
			style: true,
			quality: true,
			creditsCost: true,
			status: true,
			errorCode: true,
			outputKey: true,
			outputWidth: true,
			outputHeight: true,
			disclosureLabel: true,
			createdAt: true,
			completedAt: true,
			customStyle: { select: { name: true } },
			photo: { select: { originalFilename: true } },
			variants: { select: { kind: true, key: true, width: true, height: true } },
		},
	})
	const storage = getStorage()
	return Promise.all(
		rows.map(async ({ variants, outputKey, photo, customStyle, ...row }) => {
			const preview = variants.find((variant) => variant.kind === 'preview')
			const thumbnail = variants.find((variant) => variant.kind === 'thumbnail')
			const ext = outputKey?.split('.').pop() ?? 'jpg'
			return {
				...row,
				kind: row.kind as Kind,
				quality: row.quality as Quality,
				customStyleName: customStyle?.name ?? null,
				preview: preview
					? { url: await storage.signedUrl(preview.key, { cacheable: true }), width: preview.width, height: preview.height }
					: null,
				thumbnail: thumbnail
					? { url: await storage.signedUrl(thumbnail.key, { cacheable: true }), width: thumbnail.width, height: thumbnail.height }
					: null,
				downloadUrl:
					row.status === 'succeeded' && outputKey
						? await storage.signedUrl(outputKey, { downloadName: resultFilename(photo.originalFilename, row, ext) })
						: null,
			}
		}),
	)
}

/** How many transformations of each photo of a project are waiting or running (for the grid). */
export async function pendingByPhoto(tx: Tx, userId: string, projectId: string) {
	const rows = await tx.transformation.groupBy({
		by: ['photoId'],
		where: { userId, projectId, status: { in: ['queued', 'processing'] } },
		_count: { _all: true },
	})
	return new Map(rows.map((row) => [row.photoId, row._count._all]))
}
