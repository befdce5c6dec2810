import { z } from 'zod'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import type { Tx } from '#app/utils/db.server.ts'

// Control characters: nobody types them in a one-line field, and Postgres refuses U+0000 outright
// (it used to surface as a 500, through the form and the API alike).
const printable = (v: string) => !/[\u0000-\u001f\u007f]/.test(v)

/** What an agent types about a listing. Empty optional fields become null. */
export const ProjectFields = z.object({
	name: z
		.string()
		.trim()
		.min(1, 'projects.error.nameRequired')
		.max(120, 'projects.error.nameTooLong')
		.refine(printable, 'projects.error.invalidCharacters'),
	address: z
		.string()
		.trim()
		.max(300, 'projects.error.addressTooLong')
		.refine(printable, 'projects.error.invalidCharacters')
		.transform((v) => v || null)
		.nullish(),
	reference: z
		.string()
		.trim()
		.max(60, 'projects.error.referenceTooLong')
		.refine(printable, 'projects.error.invalidCharacters')
		.transform((v) => v || null)
		.nullish(),
})
export type ProjectInput = z.infer<typeof ProjectFields>

/** The user's live projects, newest first, with photo counts, cover and credits used (inside withUser). */
export async function listProjects(tx: Tx, userId: string, options: { take?: number; status?: 'active' | 'archived' } = {}) {
	const projects = await tx.project.findMany({
		where: { userId, deletedAt: null, ...(options.status ? { status: options.status } : {}) },
		orderBy: { createdAt: 'desc' },
		take: options.take ?? 100,
		select: {
			id: true,
			name: true,
			address: true,
			reference: true,
			status: true,
			coverPhotoId: true,
			createdAt: true,
			_count: { select: { photos: true } },
		},
	})
	const used = await creditsUsedByProject(
		tx,
		userId,
		projects.map((p) => p.id),
	)
	return projects.map((p) => ({ ...p, creditsUsed: used.get(p.id) ?? 0 }))
}

/** Credits spent per project: succeeded transformations (their reservation was captured). */
async function creditsUsedByProject(tx: Tx, userId: string, projectIds: string[]) {
	if (projectIds.length === 0) return new Map<string, number>()
	const rows = await tx.transformation.groupBy({
		by: ['projectId'],
		where: { userId, projectId: { in: projectIds }, status: 'succeeded' },
		_sum: { creditsCost: true },
	})
	return new Map(rows.map((r) => [r.projectId, r._sum.creditsCost ?? 0]))
}

/** One live project of the user, or null (another user's id is just "not found"). */
export async function getProject(tx: Tx, userId: string, projectId: string) {
	if (!z.uuid().safeParse(projectId).success) return null
	const project = await tx.project.findFirst({
		where: { id: projectId, userId, deletedAt: null },
		select: { id: true, name: true, address: true, reference: true, status: true, coverPhotoId: true, createdAt: true },
	})
	if (!project) return null
	const used = await creditsUsedByProject(tx, userId, [project.id])
	return { ...project, creditsUsed: used.get(project.id) ?? 0 }
}

/** The id of a live project of the user, or null: the cheap check of a route that only needs it to exist. */
export async function findProjectId(tx: Tx, userId: string, projectId: string) {
	if (!z.uuid().safeParse(projectId).success) return null
	const project = await tx.project.findFirst({ where: { id: projectId, userId, deletedAt: null }, select: { id: true } })
	return project?.id ?? null
}

export function createProject(tx: Tx, userId: string, input: ProjectInput) {
	return tx.project.create({
		data: { userId, name: input.name, address: input.address ?? null, reference: input.reference ?? null },
		select: { id: true },
	})
}

/** Renames / re-addresses a project; false when it is not the user's. */
export async function updateProject(tx: Tx, userId: string, projectId: string, input: ProjectInput) {
	const { count } = await tx.project.updateMany({
		where: { id: projectId, userId, deletedAt: null },
		data: { name: input.name, address: input.address ?? null, reference: input.reference ?? null },
	})
	return count === 1
}

/** Archives or restores a project; false when it is not the user's. */
export async function setArchived(tx: Tx, userId: string, projectId: string, archived: boolean) {
	const { count } = await tx.project.updateMany({
		where: { id: projectId, userId, deletedAt: null },
		data: archived ? { status: 'archived', archivedAt: new Date() } : { status: 'active', archivedAt: null },
	})
	return count === 1
}

/**
 * Hides the project at once and queues the deletion of its rows and stored files, in the same
 * transaction (the worker job does the slow part, and retries until everything is gone).
 */
export async function requestProjectDeletion(tx: Tx, userId: string, projectId: string) {
	const { count } = await tx.project.updateMany({ where: { id: projectId, userId, deletedAt: null }, data: { deletedAt: new Date() } })
	if (count !== 1) return false
	await enqueue('project-delete', { projectId, userId }, { tx, singletonKey: projectId })
	return true
}
