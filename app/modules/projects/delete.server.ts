import { release } from '#app/modules/credits/ledger.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { privileged } from '#app/utils/db.server.ts'

/**
 * The project-delete job: for a project the user asked to delete, gives back the credits of
 * transformations that never finished, deletes every stored file under its prefixes, then its
 * rows (photos, variants and transformations follow by cascade). Idempotent and retryable:
 * each step can run again after a crash.
 */
export async function deleteProject(input: { projectId: string; userId: string }) {
	const db = privileged()
	const project = await db.project.findFirst({
		where: { id: input.projectId, userId: input.userId },
		select: { id: true, deletedAt: true },
	})
	// Gone already, or never asked for: nothing to do.
	if (!project?.deletedAt) return
	const unfinished = await db.transformation.findMany({
		where: { projectId: project.id, status: { in: ['queued', 'processing'] } },
		select: { id: true },
	})
	for (const t of unfinished) await release(db, { userId: input.userId, reference: `transformation:${t.id}` }).catch(() => null)
	const storage = getStorage()
	for (const prefix of storageKeys.project(input.userId, project.id)) await storage.deletePrefix(prefix)
	await db.project.delete({ where: { id: project.id } })
}
