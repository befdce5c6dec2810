import type { Translate } from '#app/modules/i18n/catalog.ts'
import { receiveUploads, storedBytes, type UploadResult } from '#app/modules/photos/upload.server.ts'
import { findProjectId } from '#app/modules/projects/projects.server.ts'
import { nodeBody } from '#app/utils/body.server.ts'
import { withUser, type Prisma, type Tx } from '#app/utils/db.server.ts'
import { spendAccountBudget } from '../budget.server.ts'
import { ApiError, notFound } from '../errors.server.ts'
import { defineOperation } from '../operation.server.ts'
import { afterTimeCursor, decodeTimeCursor, encodeTimeCursor, toPage } from '../pagination.server.ts'
import { PageQuery, PhotoDetail, PhotoPage, PhotoParams, ProjectParams, UploadResult as UploadResultSchema } from '../schemas.server.ts'
import { signedUrl, urlsExpireAt } from './signed-urls.server.ts'

const select = {
	id: true,
	projectId: true,
	status: true,
	originalKey: true,
	originalFilename: true,
	contentType: true,
	sizeBytes: true,
	width: true,
	height: true,
	sha256: true,
	duplicateOfId: true,
	errorCode: true,
	createdAt: true,
} as const satisfies Prisma.PhotoSelect
type Row = Prisma.PhotoGetPayload<{ select: typeof select }>

function photoJson(row: Row, t: Translate) {
	return {
		id: row.id,
		project_id: row.projectId,
		status: row.status,
		filename: row.originalFilename,
		content_type: row.contentType,
		size_bytes: Number(row.sizeBytes),
		width: row.width,
		height: row.height,
		sha256: row.sha256,
		duplicate_of_id: row.duplicateOfId,
		error: row.status === 'error' ? { code: row.errorCode ?? 'processing', message: t('photos.error.processing') } : null,
		created_at: row.createdAt.toISOString(),
	}
}

async function requireProject(tx: Tx, userId: string, projectId: string) {
	if (!(await findProjectId(tx, userId, projectId))) throw notFound()
}

/** `photos.error.tooLarge` → `too_large`: the stable code of a refused file. */
const fileErrorCode = (key: string) => key.replace(/^photos\.error\./, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

export const uploadPhotos = defineOperation({
	id: 'uploadPhotos',
	method: 'POST',
	path: '/api/v1/projects/{projectId}/photos',
	tag: 'Photos',
	summary: 'Envoyer des photos',
	description:
		'Envoi en `multipart/form-data`, une photo par champ `photo` (jusqu’à 30 par requête), lu en flux : mêmes limites et contrôles que sur le site (JPEG, PNG, WebP ou HEIC reconnus à leurs premiers octets, taille maximale, pixels, quota de stockage). Chaque fichier réussit ou échoue seul ; la photo passe ensuite `processing` puis `ready`. Avec `Idempotency-Key`, une nouvelle tentative des mêmes fichiers rejoue la première réponse.',
	params: ProjectParams,
	multipart: { fields: { photo: 'Un fichier image (champ répétable).' }, required: ['photo'] },
	success: { status: 201, description: 'Au moins une photo a été enregistrée ; le sort de chaque fichier.', schema: UploadResultSchema },
	errors: [
		'not_found',
		'invalid_request',
		'payload_too_large',
		'upload_refused',
		'idempotency_in_progress',
		'idempotency_mismatch',
		'rate_limited',
	],
	handler: async ({ user, params, request, t }) => {
		const target = await withUser(user.id, async (tx) => {
			await requireProject(tx, user.id, params.projectId)
			return { projectId: params.projectId, usedBytes: await storedBytes(tx, user.id) }
		})
		if (!(request.headers.get('content-type') ?? '').startsWith('multipart/form-data'))
			throw new ApiError('invalid_request', 'api.error.multipartExpected')
		await spendAccountBudget('uploads', user, request)
		const results = await receiveUploads(request, nodeBody(request), { userId: user.id, ...target })
		if (results.length === 0) throw new ApiError('invalid_request', 'api.error.multipartExpected')
		const files = results.map((r: UploadResult) =>
			r.ok
				? { filename: r.name, ok: true, photo_id: r.photoId, error: null }
				: {
						filename: r.name,
						ok: false,
						photo_id: null,
						error: { code: fileErrorCode(r.error), message: t(r.error, r.vars) },
					},
		)
		if (files.every((f) => !f.ok)) {
			const tooLarge = results.every((r) => !r.ok && r.error === 'photos.error.tooLarge')
			throw new ApiError(
				tooLarge ? 'payload_too_large' : 'upload_refused',
				'api.error.uploadFailed',
				{},
				{ details: () => files.map((f) => ({ field: f.filename, message: f.error!.message })) },
			)
		}
		return { files }
	},
})

export const listPhotos = defineOperation({
	id: 'listPhotos',
	method: 'GET',
	path: '/api/v1/projects/{projectId}/photos',
	tag: 'Photos',
	summary: 'Lister les photos d’un projet',
	description: 'Dans l’ordre d’envoi (la plus ancienne d’abord). Les URL signées sont données par la lecture d’une photo.',
	params: ProjectParams,
	query: PageQuery,
	success: { status: 200, description: 'Une page de photos.', schema: PhotoPage },
	errors: ['not_found', 'invalid_request', 'invalid_cursor'],
	handler: async ({ user, params, query, t }) => {
		const cursor = decodeTimeCursor(query.cursor)
		const rows = await withUser(user.id, async (tx) => {
			await requireProject(tx, user.id, params.projectId)
			return tx.photo.findMany({
				where: { AND: [{ userId: user.id, projectId: params.projectId }, afterTimeCursor(cursor, 'asc')] },
				orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
				take: query.limit + 1,
				select,
			})
		})
		const page = toPage(rows, query.limit, encodeTimeCursor)
		return { data: page.data.map((row) => photoJson(row, t)), next_cursor: page.nextCursor }
	},
})

export const getPhoto = defineOperation({
	id: 'getPhoto',
	method: 'GET',
	path: '/api/v1/projects/{projectId}/photos/{photoId}',
	tag: 'Photos',
	summary: 'Lire une photo',
	description: 'Avec des URL signées de courte durée : vignette et aperçu (WebP, sans métadonnées personnelles) et original.',
	params: PhotoParams,
	success: { status: 200, description: 'La photo et ses URL.', schema: PhotoDetail },
	errors: ['not_found'],
	handler: async ({ user, params, t }) => {
		const photo = await withUser(user.id, (tx) =>
			tx.photo.findFirst({
				where: { id: params.photoId, projectId: params.projectId, userId: user.id, project: { deletedAt: null } },
				select: { ...select, variants: { where: { transformationId: null }, select: { kind: true, key: true } } },
			}),
		)
		if (!photo) throw notFound()
		const variant = async (kind: 'thumbnail' | 'preview') => {
			const found = photo.variants.find((v) => v.kind === kind)
			return found ? signedUrl(found.key, { cacheable: true }) : null
		}
		const stored = photo.status === 'ready' || photo.status === 'processing'
		return {
			...photoJson(photo, t),
			urls: {
				thumbnail: await variant('thumbnail'),
				preview: await variant('preview'),
				original: stored ? await signedUrl(photo.originalKey, { downloadName: photo.originalFilename }) : null,
			},
			urls_expire_at: urlsExpireAt(),
		}
	},
})
