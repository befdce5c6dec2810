import { getStorage } from '#app/modules/storage/storage.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { purgeExpiredExports } from './export.server.ts'

/**
 * Retention (decision 012), run daily by the `gdpr-retention` job: originals of projects archived
 * for more than RETENTION_ARCHIVED_ORIGINALS_DAYS, export archives past their expiry
 * (EXPORT_RETENTION_HOURS), stale deletion codes. Batched (never loads everything) and
 * idempotent: a run killed half-way leaves only things the next run finishes.
 */

const DAY_MS = 86_400_000
const BATCH_SIZE = 200

/**
 * Deletes the originals of projects archived before the retention period, keeping thumbnails,
 * previews and results, and marks each photo (`original_purged_at`) so the page says why there
 * is no download. Each photo is marked and its object deleted in one transaction: a storage
 * failure leaves it unmarked for the next run; a project restored meanwhile is no longer matched.
 */
export async function purgeArchivedOriginals(options: { now?: Date; batchSize?: number } = {}) {
	const db = privileged()
	const now = options.now ?? new Date()
	const batchSize = options.batchSize ?? BATCH_SIZE
	const cutoff = new Date(now.getTime() - getEnv().RETENTION_ARCHIVED_ORIGINALS_DAYS * DAY_MS)
	const storage = getStorage()
	let purged = 0
	let after: string | null = null
	for (;;) {
		const batch: { id: string }[] = await db.photo.findMany({
			where: {
				originalPurgedAt: null,
				status: { in: ['ready', 'error'] },
				project: { status: 'archived', archivedAt: { lt: cutoff }, deletedAt: null },
				...(after ? { id: { gt: after } } : {}),
			},
			orderBy: { id: 'asc' },
			select: { id: true },
			take: batchSize,
		})
		for (const { id } of batch) {
			const done = await db.$transaction(async (tx) => {
				const [photo] = await tx.$queryRaw<{ original_key: string }[]>`
					UPDATE photos p SET original_purged_at = ${now}
					FROM projects pr
					WHERE p.id = ${id}::uuid AND p.original_purged_at IS NULL AND pr.id = p.project_id
						AND pr.status = 'archived' AND pr.archived_at < ${cutoff} AND pr.deleted_at IS NULL
					RETURNING p.original_key`
				if (!photo) return false
				await storage.delete(photo.original_key)
				return true
			})
			if (done) purged++
		}
		if (batch.length < batchSize) break
		after = batch.at(-1)!.id
	}
	return purged
}

/** Deletion codes are useful for 15 minutes; after a day they only say someone once thought about it. */
export async function purgeOldDeletionCodes(now = new Date()) {
	const { count } = await privileged().accountDeletionCode.deleteMany({ where: { createdAt: { lt: new Date(now.getTime() - DAY_MS) } } })
	return count
}

/** The whole retention pass (the job); returns what it removed. */
export async function runRetention(now = new Date()) {
	const originals = await purgeArchivedOriginals({ now })
	const exports = await purgeExpiredExports({ now })
	const deletionCodes = await purgeOldDeletionCodes(now)
	log.info('retention pass done', { originals, exports, deletionCodes })
	return { originals, exports, deletionCodes }
}
