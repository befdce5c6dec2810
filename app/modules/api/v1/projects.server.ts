import { createProject, setArchived } from '#app/modules/projects/projects.server.ts'
import { Prisma, withUser, type Tx } from '#app/utils/db.server.ts'
import { notFound } from '../errors.server.ts'
import { defineOperation } from '../operation.server.ts'
import { decodeTimeCursor, encodeTimeCursor, toPage, type TimeCursor } from '../pagination.server.ts'
import { EmptyBody, Project, ProjectCreate, ProjectListQuery, ProjectPage, ProjectParams } from '../schemas.server.ts'

type ProjectRow = {
	id: string
	name: string
	address: string | null
	reference: string | null
	status: 'active' | 'archived'
	createdAt: Date
	archivedAt: Date | null
	photoCount: number
	creditsUsed: number
}

/**
 * The user's live projects as the API shows them, newest first, in ONE statement (photo count and
 * credits used as subqueries): the list is the API's hottest read. Inside withUser: RLS applies.
 */
async function readProjects(
	tx: Tx,
	userId: string,
	filter: { id?: string; status?: 'active' | 'archived'; after?: TimeCursor },
	take: number,
) {
	const rows = await tx.$queryRaw<ProjectRow[]>`
		SELECT p.id, p.name, p.address, p.reference, p.status::text AS status, p.created_at AS "createdAt", p.archived_at AS "archivedAt",
		       (SELECT count(*)::int FROM photos ph WHERE ph.project_id = p.id) AS "photoCount",
		       (SELECT coalesce(sum(t.credits_cost), 0)::int FROM transformations t
		        WHERE t.project_id = p.id AND t.status = 'succeeded') AS "creditsUsed"
		FROM projects p
		WHERE p.user_id = ${userId}::uuid AND p.deleted_at IS NULL
		${filter.id ? Prisma.sql`AND p.id = ${filter.id}::uuid` : Prisma.empty}
		${filter.status ? Prisma.sql`AND p.status = ${filter.status}::project_status` : Prisma.empty}
		${filter.after ? Prisma.sql`AND (p.created_at, p.id) < (${filter.after.at}, ${filter.after.id}::uuid)` : Prisma.empty}
		ORDER BY p.created_at DESC, p.id DESC
		LIMIT ${take}`
	return rows.map((row) => ({
		row,
		json: {
			id: row.id,
			name: row.name,
			address: row.address,
			reference: row.reference,
			status: row.status,
			photo_count: row.photoCount,
			credits_used: row.creditsUsed,
			created_at: row.createdAt.toISOString(),
			archived_at: row.archivedAt?.toISOString() ?? null,
		},
	}))
}

async function readProject(tx: Tx, userId: string, projectId: string) {
	const [project] = await readProjects(tx, userId, { id: projectId }, 1)
	if (!project) throw notFound()
	return project.json
}

export const listProjects = defineOperation({
	id: 'listProjects',
	method: 'GET',
	path: '/api/v1/projects',
	tag: 'Projets',
	summary: 'Lister les projets',
	description: 'Vos projets, du plus récent au plus ancien (les projets supprimés n’apparaissent pas).',
	query: ProjectListQuery,
	success: { status: 200, description: 'Une page de projets.', schema: ProjectPage },
	errors: ['invalid_request', 'invalid_cursor'],
	handler: async ({ user, query }) => {
		const cursor = decodeTimeCursor(query.cursor)
		const rows = await withUser(user.id, (tx) => readProjects(tx, user.id, { status: query.status, after: cursor }, query.limit + 1))
		const page = toPage(rows, query.limit, (p) => encodeTimeCursor(p.row))
		return { data: page.data.map((p) => p.json), next_cursor: page.nextCursor }
	},
})

export const createProjectOperation = defineOperation({
	id: 'createProject',
	method: 'POST',
	path: '/api/v1/projects',
	tag: 'Projets',
	summary: 'Créer un projet',
	description: 'Un projet par bien : nom obligatoire, adresse et référence d’annonce facultatives.',
	body: ProjectCreate,
	success: { status: 201, description: 'Le projet créé.', schema: Project },
	errors: [
		'invalid_request',
		'invalid_json',
		'payload_too_large',
		'invalid_idempotency_key',
		'idempotency_in_progress',
		'idempotency_mismatch',
	],
	handler: ({ user, body }) =>
		withUser(user.id, async (tx) => {
			const { id } = await createProject(tx, user.id, body)
			return readProject(tx, user.id, id)
		}),
})

export const getProject = defineOperation({
	id: 'getProject',
	method: 'GET',
	path: '/api/v1/projects/{projectId}',
	tag: 'Projets',
	summary: 'Lire un projet',
	params: ProjectParams,
	success: { status: 200, description: 'Le projet.', schema: Project },
	errors: ['not_found'],
	handler: ({ user, params }) => withUser(user.id, (tx) => readProject(tx, user.id, params.projectId)),
})

function archiveOperation(archived: boolean) {
	return defineOperation({
		id: archived ? 'archiveProject' : 'unarchiveProject',
		method: 'POST',
		path: `/api/v1/projects/{projectId}/${archived ? 'archive' : 'unarchive'}`,
		tag: 'Projets',
		summary: archived ? 'Archiver un projet' : 'Désarchiver un projet',
		description: archived
			? 'Le projet quitte la liste des projets actifs ; ses photos et résultats restent accessibles. Sans effet s’il est déjà archivé.'
			: 'Le projet redevient actif. Sans effet s’il l’est déjà.',
		params: ProjectParams,
		body: EmptyBody,
		success: { status: 200, description: 'Le projet, à jour.', schema: Project },
		errors: ['not_found', 'invalid_request', 'invalid_idempotency_key', 'idempotency_in_progress', 'idempotency_mismatch'],
		handler: ({ user, params }) =>
			withUser(user.id, async (tx) => {
				if (!(await setArchived(tx, user.id, params.projectId, archived))) throw notFound()
				return readProject(tx, user.id, params.projectId)
			}),
	})
}

export const archiveProject = archiveOperation(true)
export const unarchiveProject = archiveOperation(false)
