import { audit } from '#app/modules/audit/audit.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import { hitRateLimit } from '#app/modules/security/rate-limit.server.ts'
import { seal } from '#app/utils/crypto.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { checkEndpointUrl, type UrlProblem } from './address.server.ts'
import { insertEvent } from './emit.server.ts'
import { isWebhookEventType, TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES, type WebhookEventType } from './events.ts'
import { generateSecret } from './sign.server.ts'

/** Endpoints a user may register. */
export const MAX_ENDPOINTS = 10
/** Resends and tests per user per hour (each one is an outgoing request we make for them). */
export const MANUAL_SENDS_PER_HOUR = 60
export const MAX_DESCRIPTION_LENGTH = 200
/** Deliveries shown per page of the delivery log. */
export const DELIVERY_PAGE_SIZE = 30

/** Why a management action was refused; nothing was written. */
export class WebhookError extends Error {
	override name = 'WebhookError'
	constructor(
		readonly code: 'too_many' | 'rate_limited',
		readonly vars: Record<string, number> = {},
	) {
		super(code)
	}
}

export type EndpointInput = { url: string; description: string | null; events: WebhookEventType[] }
export type EndpointFormErrors = Partial<Record<'url' | 'description' | 'events', MessageKey>>

const urlMessages: Record<UrlProblem, MessageKey> = {
	invalid: 'webhooks.error.url.invalid',
	too_long: 'webhooks.error.url.tooLong',
	https_required: 'webhooks.error.url.httpsRequired',
	credentials: 'webhooks.error.url.credentials',
	port: 'webhooks.error.url.port',
	private_address: 'webhooks.error.url.privateAddress',
	local_name: 'webhooks.error.url.localName',
}

/** Reads and checks the endpoint form (URL through the SSRF guard's URL rules, no network). */
export function parseEndpointForm(form: FormData): { ok: true; value: EndpointInput } | { ok: false; errors: EndpointFormErrors } {
	const errors: EndpointFormErrors = {}
	const rawUrl = String(form.get('url') ?? '')
	const checked = rawUrl.trim() ? checkEndpointUrl(rawUrl, { allowLoopback: getEnv().WEBHOOKS_ALLOW_LOOPBACK }) : null
	if (!checked) errors.url = 'webhooks.error.url.required'
	else if (!checked.ok) errors.url = urlMessages[checked.problem]
	const description = String(form.get('description') ?? '')
		.replace(/\s+/g, ' ')
		.trim()
	if (description.length > MAX_DESCRIPTION_LENGTH) errors.description = 'webhooks.error.descriptionTooLong'
	const chosen = form.getAll('events').map(String)
	const events = WEBHOOK_EVENT_TYPES.filter((type) => chosen.includes(type))
	if (events.length === 0 || chosen.some((value) => !isWebhookEventType(value))) errors.events = 'webhooks.error.events'
	if (Object.keys(errors).length > 0 || !checked?.ok) return { ok: false, errors }
	return { ok: true, value: { url: checked.url, description: description || null, events } }
}

const host = (url: string) => new URL(url).host

/** Registers an endpoint; returns its signing secret, which is shown this once. */
export async function createEndpoint(userId: string, input: EndpointInput, request?: Request) {
	const secret = generateSecret()
	const id = await withUser(userId, async (tx) => {
		// Two submissions at once: the second counts after the first.
		await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`webhook-endpoints:${userId}`}))`
		if ((await tx.webhookEndpoint.count({ where: { userId } })) >= MAX_ENDPOINTS) throw new WebhookError('too_many', { max: MAX_ENDPOINTS })
		const row = await tx.webhookEndpoint.create({
			data: { userId, url: input.url, description: input.description, events: input.events, secretSealed: seal(secret) },
			select: { id: true },
		})
		await audit(
			'webhook_endpoint.created',
			{ userId, request, data: { endpointId: row.id, host: host(input.url), events: input.events } },
			tx,
		)
		return row.id
	})
	return { id, secret }
}

/** The user's endpoints for the settings page (no secret). */
export async function listEndpoints(userId: string) {
	const rows = await withUser(userId, (tx) =>
		tx.webhookEndpoint.findMany({
			where: { userId },
			orderBy: { createdAt: 'asc' },
			select: {
				id: true,
				url: true,
				description: true,
				events: true,
				disabledAt: true,
				disabledReason: true,
				createdAt: true,
				deliveries: { orderBy: { createdAt: 'desc' }, take: 1, select: { status: true, createdAt: true } },
			},
		}),
	)
	return rows.map(({ deliveries, events, ...row }) => ({ ...row, events: eventsOf(events), lastDelivery: deliveries[0] ?? null }))
}

function eventsOf(value: unknown): WebhookEventType[] {
	return Array.isArray(value) ? value.filter(isWebhookEventType) : []
}

/**
 * One endpoint with a page of its delivery log (newest first, each with its attempts), or null
 * when it is not the user's. `before`: the cursor (a delivery id) of the next page.
 */
export async function getEndpoint(userId: string, endpointId: string, before?: string | null) {
	return withUser(userId, async (tx) => {
		const endpoint = await tx.webhookEndpoint.findFirst({
			where: { id: endpointId, userId },
			select: { id: true, url: true, description: true, events: true, disabledAt: true, disabledReason: true, createdAt: true },
		})
		if (!endpoint) return null
		const deliveries = await tx.webhookDelivery.findMany({
			where: { endpointId, userId },
			orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
			take: DELIVERY_PAGE_SIZE + 1,
			...(before ? { cursor: { id: before }, skip: 1 } : {}),
			select: {
				id: true,
				status: true,
				attempts: true,
				createdAt: true,
				deliveredAt: true,
				event: { select: { id: true, type: true } },
				attemptLog: {
					orderBy: { number: 'desc' },
					take: 20,
					select: { number: true, trigger: true, statusCode: true, durationMs: true, error: true, createdAt: true },
				},
			},
		})
		const more = deliveries.length > DELIVERY_PAGE_SIZE
		const page = deliveries.slice(0, DELIVERY_PAGE_SIZE)
		return { endpoint: { ...endpoint, events: eventsOf(endpoint.events) }, deliveries: page, next: more ? page.at(-1)!.id : null }
	})
}

/** Changes the URL, description and events; false when it is not the user's. */
export async function updateEndpoint(userId: string, endpointId: string, input: EndpointInput) {
	const updated = await withUser(userId, (tx) =>
		tx.webhookEndpoint.updateMany({
			where: { id: endpointId, userId },
			data: { url: input.url, description: input.description, events: input.events },
		}),
	)
	return updated.count === 1
}

/** A new signing secret (the old one stops working at once), shown this once; null when not the user's. */
export async function regenerateSecret(userId: string, endpointId: string) {
	const secret = generateSecret()
	const updated = await withUser(userId, (tx) =>
		tx.webhookEndpoint.updateMany({ where: { id: endpointId, userId }, data: { secretSealed: seal(secret) } }),
	)
	return updated.count === 1 ? secret : null
}

/**
 * Turns an endpoint off (nothing is sent, its pending retries stop) or back on (failure counters
 * reset). False when it is not the user's.
 */
export async function setEndpointEnabled(userId: string, endpointId: string, enabled: boolean, request?: Request) {
	return withUser(userId, async (tx) => {
		const updated = await tx.webhookEndpoint.updateMany({
			where: { id: endpointId, userId, disabledAt: enabled ? { not: null } : null },
			data: enabled
				? { disabledAt: null, disabledReason: null, consecutiveFailures: 0, failingSince: null }
				: { disabledAt: new Date(), disabledReason: 'user' },
		})
		if (updated.count === 1 && !enabled)
			await audit('webhook_endpoint.disabled', { userId, request, data: { endpointId, reason: 'user' } }, tx)
		return updated.count === 1 || (await tx.webhookEndpoint.count({ where: { id: endpointId, userId } })) === 1
	})
}

/** Deletes an endpoint and its delivery log; false when it is not the user's. */
export async function deleteEndpoint(userId: string, endpointId: string, request?: Request) {
	return withUser(userId, async (tx) => {
		const endpoint = await tx.webhookEndpoint.findFirst({ where: { id: endpointId, userId }, select: { url: true } })
		if (!endpoint) return false
		await tx.webhookEndpoint.delete({ where: { id: endpointId } })
		await audit('webhook_endpoint.deleted', { userId, request, data: { endpointId, host: host(endpoint.url) } }, tx)
		return true
	})
}

async function limitManualSends(userId: string) {
	const limit = await hitRateLimit(`webhook-manual:${userId}`, MANUAL_SENDS_PER_HOUR, 3_600)
	if (!limit.allowed) throw new WebhookError('rate_limited', { minutes: Math.ceil(limit.retryAfterSeconds / 60) })
}

/** « Envoyer un test »: a `webhook.test` event to this endpoint only, one attempt (even when disabled). */
export async function sendTestEvent(userId: string, endpointId: string) {
	const endpoint = await withUser(userId, (tx) => tx.webhookEndpoint.findFirst({ where: { id: endpointId, userId }, select: { id: true } }))
	if (!endpoint) return false
	await limitManualSends(userId)
	await withUser(userId, (tx) =>
		insertEvent(tx, {
			userId,
			type: TEST_EVENT_TYPE,
			data: { endpoint_id: endpointId },
			endpoints: [{ id: endpointId, events: [] }],
			manual: true,
		}),
	)
	return true
}

/** « Renvoyer »: one more attempt of the same event (same id, same body). False when it is not the user's. */
export async function resendDelivery(userId: string, endpointId: string, deliveryId: string) {
	const delivery = await withUser(userId, (tx) =>
		tx.webhookDelivery.findFirst({ where: { id: deliveryId, endpointId, userId }, select: { id: true } }),
	)
	if (!delivery) return false
	await limitManualSends(userId)
	await enqueue('webhook-deliver', { deliveryId, manual: true })
	return true
}
