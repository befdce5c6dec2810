import crypto from 'node:crypto'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import type { Tx } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import type { WebhookEventType } from './events.ts'

/**
 * Events of a user's account, turned into signed deliveries to their endpoints. Every function
 * here runs INSIDE the caller's transaction: the event row, its deliveries and their pg-boss
 * jobs exist if and only if the state change that caused them commits.
 */

type Endpoint = { id: string; events: unknown }

/** The absolute URL of an API path (receivers fetch the resource with their API key). */
function apiUrl(path: string) {
	return new URL(path, getEnv().APP_URL).toString()
}

function subscribed(endpoint: Endpoint, type: string) {
	return Array.isArray(endpoint.events) && endpoint.events.includes(type)
}

/**
 * The body of every delivery of an event: `{ id, type, created_at, data }` in that order.
 * Ids, statuses and API URLs only: no secret, no signed (long-lived) file URL.
 */
export function eventBody(event: { id: string; type: string; createdAt: Date; data: Record<string, unknown> }) {
	return JSON.stringify({ id: event.id, type: event.type, created_at: event.createdAt.toISOString(), data: event.data })
}

/**
 * Writes one event and one delivery per endpoint in `endpoints`, and enqueues their jobs through
 * `tx`. With a `dedupeKey` already used, does nothing. Returns the event id, or null.
 */
export async function insertEvent(
	tx: Tx,
	input: { userId: string; type: string; data: Record<string, unknown>; endpoints: Endpoint[]; dedupeKey?: string; manual?: boolean },
) {
	if (input.endpoints.length === 0) return null
	const id = crypto.randomUUID()
	const createdAt = new Date()
	const body = eventBody({ id, type: input.type, createdAt, data: input.data })
	const inserted = await tx.outgoingEvent.createMany({
		data: [{ id, userId: input.userId, type: input.type, body, dedupeKey: input.dedupeKey ?? null, createdAt }],
		skipDuplicates: true,
	})
	if (inserted.count === 0) return null
	const deliveries = input.endpoints.map((endpoint) => ({
		id: crypto.randomUUID(),
		userId: input.userId,
		endpointId: endpoint.id,
		eventId: id,
	}))
	await tx.webhookDelivery.createMany({ data: deliveries })
	for (const delivery of deliveries)
		await enqueue(
			'webhook-deliver',
			{ deliveryId: delivery.id, ...(input.manual ? { manual: true } : {}) },
			{ tx, singletonKey: delivery.id },
		)
	return { id, deliveryIds: deliveries.map((delivery) => delivery.id) }
}

/**
 * Emits `type` for `userId` to every enabled endpoint subscribed to it, in the caller's
 * transaction (see above). Nothing is written when no endpoint listens.
 */
export async function emitUserEvent(
	tx: Tx,
	userId: string,
	type: WebhookEventType,
	data: Record<string, unknown>,
	options: { dedupeKey?: string } = {},
) {
	const endpoints = await tx.webhookEndpoint.findMany({ where: { userId, disabledAt: null }, select: { id: true, events: true } })
	return insertEvent(tx, { userId, type, data, endpoints: endpoints.filter((e) => subscribed(e, type)), dedupeKey: options.dedupeKey })
}

/** `transformation.succeeded` / `transformation.failed` for a transformation that just reached that status (once per transformation). */
export async function emitTransformationEvent(tx: Tx, transformationId: string) {
	const row = await tx.transformation.findUnique({
		where: { id: transformationId },
		select: {
			id: true,
			userId: true,
			projectId: true,
			photoId: true,
			batchId: true,
			kind: true,
			quality: true,
			status: true,
			errorCode: true,
			creditsCost: true,
			completedAt: true,
			// The endpoints come with the row: one query when nobody listens.
			user: { select: { webhookEndpoints: { where: { disabledAt: null }, select: { id: true, events: true } } } },
		},
	})
	if (!row || (row.status !== 'succeeded' && row.status !== 'failed')) return null
	const type = `transformation.${row.status}` as const
	return insertEvent(tx, {
		userId: row.userId,
		type,
		endpoints: row.user.webhookEndpoints.filter((e) => subscribed(e, type)),
		dedupeKey: `${type}:${row.id}`,
		data: {
			transformation_id: row.id,
			project_id: row.projectId,
			photo_id: row.photoId,
			batch_id: row.batchId,
			kind: row.kind,
			quality: row.quality,
			status: row.status,
			error_code: row.errorCode,
			// Captured on success; a failure gives them back.
			credits_charged: row.status === 'succeeded' ? row.creditsCost : 0,
			completed_at: row.completedAt?.toISOString() ?? null,
			url: apiUrl(`/api/v1/transformations/${row.id}`),
		},
	})
}

/** `batch.completed` when no transformation of the batch is queued or running any more (once per batch). */
export async function emitBatchCompleted(tx: Tx, batchId: string) {
	// Cheap while the batch runs (one indexed probe per transition); the rows are read once, at the end.
	const running = await tx.transformation.findFirst({ where: { batchId, status: { in: ['queued', 'processing'] } }, select: { id: true } })
	if (running) return null
	const rows = await tx.transformation.findMany({
		where: { batchId },
		orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
		select: { id: true, status: true, userId: true, projectId: true },
	})
	const first = rows[0]
	if (!first) return null
	const count = (status: string) => rows.filter((row) => row.status === status).length
	return emitUserEvent(
		tx,
		first.userId,
		'batch.completed',
		{
			batch_id: batchId,
			project_id: first.projectId,
			total: rows.length,
			succeeded: count('succeeded'),
			failed: count('failed'),
			canceled: count('canceled'),
			transformation_ids: rows.map((row) => row.id),
		},
		{ dedupeKey: `batch.completed:${batchId}` },
	)
}

/**
 * `credits.low` when spending `spent` credits (a reservation, just made in `tx`) took the balance
 * from at least CREDITS_LOW_THRESHOLD to below it: once per crossing. The ledger's trigger locked
 * the user row, so the balance read here is this transaction's own, after the reservation.
 */
export async function emitCreditsLowIfCrossed(tx: Tx, userId: string, spent: number) {
	const threshold = getEnv().CREDITS_LOW_THRESHOLD
	if (spent <= 0 || threshold <= 0) return null
	const user = await tx.user.findUnique({ where: { id: userId }, select: { creditBalance: true } })
	if (!user) return null
	const after = user.creditBalance
	if (after >= threshold || after + spent < threshold) return null
	return emitUserEvent(tx, userId, 'credits.low', { balance: after, threshold, url: apiUrl('/api/v1/credits') })
}
