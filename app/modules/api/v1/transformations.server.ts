import type { MessageKey, Translate } from '#app/modules/i18n/catalog.ts'
import { findProjectId } from '#app/modules/projects/projects.server.ts'
import { orderSchema, type Kind, type RoomType } from '#app/modules/transformations/catalog.ts'
import { OrderError, orderTransformations } from '#app/modules/transformations/order.server.ts'
import { cancelTransformation } from '#app/modules/transformations/run.server.ts'
import { resultFilename } from '#app/modules/transformations/transformations.server.ts'
import { withUser, type Prisma, type Tx } from '#app/utils/db.server.ts'
import { spendAccountBudget } from '../budget.server.ts'
import { ApiError, notFound } from '../errors.server.ts'
import { defineOperation } from '../operation.server.ts'
import { afterTimeCursor, decodeTimeCursor, encodeTimeCursor, toPage } from '../pagination.server.ts'
import {
	EmptyBody,
	OrderCreate,
	OrderResult,
	ProjectParams,
	Transformation,
	TransformationListQuery,
	TransformationPage,
	TransformationParams,
} from '../schemas.server.ts'
import { signedUrl, urlsExpireAt } from './signed-urls.server.ts'

const select = {
	id: true,
	projectId: true,
	photoId: true,
	batchId: true,
	kind: true,
	quality: true,
	roomType: true,
	style: true,
	customStyleId: true,
	disclosureLabel: true,
	creditsCost: true,
	status: true,
	errorCode: true,
	outputKey: true,
	outputWidth: true,
	outputHeight: true,
	createdAt: true,
	startedAt: true,
	completedAt: true,
	photo: { select: { originalFilename: true } },
	variants: { select: { kind: true, key: true } },
} as const satisfies Prisma.TransformationSelect
type Row = Prisma.TransformationGetPayload<{ select: typeof select }>

function readTransformations(tx: Tx, userId: string, where: Prisma.TransformationWhereInput, take: number) {
	return tx.transformation.findMany({
		where: { AND: [{ userId, project: { deletedAt: null } }, where] },
		orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
		take,
		select,
	})
}

async function transformationJson(row: Row, t: Translate) {
	const variant = async (kind: 'thumbnail' | 'preview') => {
		const found = row.variants.find((v) => v.kind === kind)
		return found ? signedUrl(found.key, { cacheable: true }) : null
	}
	const succeeded = row.status === 'succeeded' && row.outputKey
	const ext = row.outputKey?.split('.').pop() ?? 'jpg'
	return {
		id: row.id,
		project_id: row.projectId,
		photo_id: row.photoId,
		batch_id: row.batchId,
		kind: row.kind,
		quality: row.quality,
		room_type: row.roomType as RoomType | null,
		style: row.style,
		custom_style_id: row.customStyleId,
		disclosure_label: row.disclosureLabel,
		credits_cost: row.creditsCost,
		status: row.status,
		error:
			row.status === 'failed' && row.errorCode
				? { code: row.errorCode, message: t(`transformations.reason.${row.errorCode}` as MessageKey) }
				: null,
		created_at: row.createdAt.toISOString(),
		started_at: row.startedAt?.toISOString() ?? null,
		completed_at: row.completedAt?.toISOString() ?? null,
		result: succeeded
			? {
					width: row.outputWidth,
					height: row.outputHeight,
					urls: {
						thumbnail: await variant('thumbnail'),
						preview: await variant('preview'),
						full: await signedUrl(row.outputKey!, {
							downloadName: resultFilename(row.photo.originalFilename, { kind: row.kind as Kind, style: row.style }, ext),
						}),
					},
					urls_expire_at: urlsExpireAt(),
				}
			: null,
	}
}

async function readOne(userId: string, transformationId: string, t: Translate) {
	const [row] = await withUser(userId, (tx) => readTransformations(tx, userId, { id: transformationId }, 1))
	if (!row) throw notFound()
	return transformationJson(row, t)
}

const refusals: Record<Exclude<OrderError['code'], 'not_found'>, ApiError['code']> = {
	not_ready: 'photo_not_ready',
	unavailable: 'kind_unavailable',
	insufficient_credits: 'insufficient_credits',
}

export const createTransformations = defineOperation({
	id: 'orderTransformations',
	method: 'POST',
	path: '/api/v1/projects/{projectId}/transformations',
	tag: 'Transformations',
	summary: 'Commander des transformations',
	description:
		'Une transformation par photo de `photo_ids` (une ou un lot de 50 au plus), toutes du même type. Les crédits de tout le lot sont réservés en une fois, ou rien n’est fait ; ils sont consommés à la réussite et rendus en cas d’échec ou d’annulation. Envoyez un `Idempotency-Key` : une nouvelle tentative ne réserve jamais deux fois.',
	params: ProjectParams,
	body: OrderCreate,
	success: { status: 201, description: 'La commande, en file d’attente.', schema: OrderResult },
	errors: [
		'not_found',
		'invalid_request',
		'invalid_json',
		'payload_too_large',
		'insufficient_credits',
		'photo_not_ready',
		'kind_unavailable',
		'invalid_idempotency_key',
		'idempotency_in_progress',
		'idempotency_mismatch',
	],
	handler: async ({ user, params, body, request, t }) => {
		await spendAccountBudget('orders', user, request)
		// The domain's own schema applies its rules (options only for the kind that uses them).
		const order = orderSchema.parse({
			photoIds: body.photo_ids,
			kind: body.kind,
			quality: body.quality,
			roomType: body.room_type,
			style: body.style,
			customStyleId: body.custom_style_id,
			disclosureLabel: body.disclosure_label,
			notifyByEmail: body.notify_by_email,
		})
		let ordered
		try {
			ordered = await orderTransformations(user.id, params.projectId, order)
		} catch (error) {
			if (!(error instanceof OrderError)) throw error
			if (error.code === 'not_found') throw notFound()
			throw new ApiError(refusals[error.code], `transformations.refused.${error.code}`, error.vars)
		}
		const rows = await withUser(user.id, (tx) => readTransformations(tx, user.id, { id: { in: ordered.ids } }, ordered.ids.length))
		return {
			batch_id: ordered.batchId,
			credits_reserved: ordered.credits,
			transformations: await Promise.all(rows.map((row) => transformationJson(row, t))),
		}
	},
})

export const listTransformations = defineOperation({
	id: 'listTransformations',
	method: 'GET',
	path: '/api/v1/projects/{projectId}/transformations',
	tag: 'Transformations',
	summary: 'Lister les transformations d’un projet',
	description: 'De la plus récente à la plus ancienne, avec les URL signées des résultats.',
	params: ProjectParams,
	query: TransformationListQuery,
	success: { status: 200, description: 'Une page de transformations.', schema: TransformationPage },
	errors: ['not_found', 'invalid_request', 'invalid_cursor'],
	handler: async ({ user, params, query, t }) => {
		const cursor = decodeTimeCursor(query.cursor)
		const rows = await withUser(user.id, async (tx) => {
			if (!(await findProjectId(tx, user.id, params.projectId))) throw notFound()
			return readTransformations(
				tx,
				user.id,
				{
					projectId: params.projectId,
					...(query.status ? { status: query.status } : {}),
					...(query.photo_id ? { photoId: query.photo_id } : {}),
					...afterTimeCursor(cursor, 'desc'),
				},
				query.limit + 1,
			)
		})
		const page = toPage(rows, query.limit, encodeTimeCursor)
		return { data: await Promise.all(page.data.map((row) => transformationJson(row, t))), next_cursor: page.nextCursor }
	},
})

export const getTransformation = defineOperation({
	id: 'getTransformation',
	method: 'GET',
	path: '/api/v1/transformations/{transformationId}',
	tag: 'Transformations',
	summary: 'Lire une transformation',
	description: 'Son statut et, une fois réussie, les URL signées du résultat (vignette, aperçu, pleine résolution).',
	params: TransformationParams,
	success: { status: 200, description: 'La transformation.', schema: Transformation },
	errors: ['not_found'],
	handler: ({ user, params, t }) => readOne(user.id, params.transformationId, t),
})

export const cancelTransformationOperation = defineOperation({
	id: 'cancelTransformation',
	method: 'POST',
	path: '/api/v1/transformations/{transformationId}/cancel',
	tag: 'Transformations',
	summary: 'Annuler une transformation',
	description: 'Tant qu’elle est en attente ou en cours : elle passe `canceled` et ses crédits réservés sont rendus.',
	params: TransformationParams,
	body: EmptyBody,
	success: { status: 200, description: 'La transformation annulée.', schema: Transformation },
	errors: ['not_found', 'not_cancellable', 'invalid_request', 'invalid_idempotency_key', 'idempotency_in_progress', 'idempotency_mismatch'],
	handler: async ({ user, params, t }) => {
		// Existence first (404), as the owner: cancelTransformation only says whether it cancelled.
		await readOne(user.id, params.transformationId, t)
		if (!(await cancelTransformation(user.id, params.transformationId))) throw new ApiError('not_cancellable', 'api.error.notCancellable')
		return readOne(user.id, params.transformationId, t)
	},
})
