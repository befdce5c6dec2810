import type { Tx } from '#app/utils/db.server.ts'

/** The user's projects, newest first, with their photo counts (inside withUser: RLS applies). */
export function listProjects(tx: Tx, userId: string, options: { take?: number } = {}) {
	return tx.project.findMany({
		where: { userId, deletedAt: null },
		orderBy: { createdAt: 'desc' },
		take: options.take ?? 100,
		select: { id: true, name: true, address: true, reference: true, status: true, createdAt: true, _count: { select: { photos: true } } },
	})
}
