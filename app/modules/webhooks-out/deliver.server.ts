import { audit } from '#app/modules/audit/audit.server.ts'
import { queueEmail } from '#app/modules/email/send.server.ts'
import { isLocale } from '#app/modules/i18n/catalog.ts'
import { queues } from '#app/modules/queue/catalog.ts'
import { unseal } from '#app/utils/crypto.server.ts'
import { privileged, type Tx } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import type { Resolver } from './address.server.ts'
import { endpointDisabledEmail } from './email.server.ts'
import { postSigned, type AttemptResult } from './send.server.ts'

const options = queues['webhook-deliver'].options

/**
 * Automatic attempts of one delivery (the first + the retries). Our own count decides when a
 * failure is final; pg-boss's retryLimit keeps two spare retries for a worker that died
 * mid-attempt, which recorded nothing.
 */
export const MAX_AUTO_ATTEMPTS = options.retryLimit - 1

/**
 * When each automatic attempt can happen, in seconds after the first one (pg-boss's backoff:
 * retry n waits between retryDelay·2^(n−1) and retryDelay·2^n, capped at retryDelayMax).
 */
export function retrySchedule() {
	const rows: { attempt: number; minSeconds: number; maxSeconds: number }[] = [{ attempt: 1, minSeconds: 0, maxSeconds: 0 }]
	let min = 0
	let max = 0
	for (let retry = 1; retry < MAX_AUTO_ATTEMPTS; retry++) {
		min += Math.min(options.retryDelayMax, options.retryDelay * 2 ** (retry - 1))
		max += Math.min(options.retryDelayMax, options.retryDelay * 2 ** retry)
		rows.push({ attempt: retry + 1, minSeconds: min, maxSeconds: max })
	}
	return rows
}

/** A failed automatic attempt with attempts left: thrown so that pg-boss retries with backoff. */
export class DeliveryRetryError extends Error {
	override name = 'DeliveryRetryError'
}

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'skipped' | 'gone'

/**
 * The webhook-deliver job: one attempt of one delivery, logged. Automatic attempts stop once the
 * delivery succeeded or failed for good, or when its endpoint is disabled; a failure with
 * attempts left throws DeliveryRetryError (pg-boss retries). A manual attempt (resend, test)
 * always goes out once and is never retried. Resends carry the same event id and body.
 */
export async function deliverWebhook(
	deliveryId: string,
	input: { manual?: boolean; timeoutMs?: number; resolve?: Resolver } = {},
): Promise<DeliveryOutcome> {
	const manual = Boolean(input.manual)
	const db = privileged()
	const delivery = await db.webhookDelivery.findUnique({
		where: { id: deliveryId },
		select: {
			status: true,
			endpoint: { select: { url: true, secretSealed: true, disabledAt: true } },
			event: { select: { id: true, body: true } },
		},
	})
	// The endpoint (and its deliveries) was deleted meanwhile.
	if (!delivery) return 'gone'
	if (!manual && delivery.status !== 'pending') return 'skipped'
	if (!manual && delivery.endpoint.disabledAt) {
		await db.webhookDelivery.updateMany({ where: { id: deliveryId, status: 'pending' }, data: { status: 'failed' } })
		return 'failed'
	}
	const result = await postSigned({
		url: delivery.endpoint.url,
		secret: unseal<string>(delivery.endpoint.secretSealed),
		eventId: delivery.event.id,
		body: delivery.event.body,
		policy: { allowLoopback: getEnv().WEBHOOKS_ALLOW_LOOPBACK },
		timeoutMs: input.timeoutMs,
		resolve: input.resolve,
	})
	const outcome = await db.$transaction((tx) => recordAttempt(tx, deliveryId, result, manual))
	if (!result.ok) log.info('webhook attempt failed', { deliveryId, status: result.statusCode, error: result.error, outcome })
	if (outcome === 'retry')
		throw new DeliveryRetryError(`webhook delivery ${deliveryId} failed (${result.statusCode ?? result.error}), will retry`)
	return outcome
}

/** Logs the attempt and moves the delivery and its endpoint on, in one transaction. */
async function recordAttempt(tx: Tx, deliveryId: string, result: AttemptResult, manual: boolean): Promise<DeliveryOutcome> {
	// Locked: a manual and an automatic attempt finishing together number their lines in turn.
	const [locked] = await tx.$queryRaw<{ status: string; attempts: number; endpoint_id: string; user_id: string }[]>`
		SELECT status::text, attempts, endpoint_id::text, user_id::text FROM webhook_deliveries WHERE id = ${deliveryId}::uuid FOR UPDATE`
	if (!locked) return 'gone'
	const now = new Date()
	const number = locked.attempts + 1
	await tx.webhookAttempt.create({
		data: {
			userId: locked.user_id,
			deliveryId,
			number,
			trigger: manual ? 'manual' : 'auto',
			statusCode: result.statusCode,
			durationMs: result.durationMs,
			error: result.error,
		},
	})
	const endpointId = locked.endpoint_id
	if (result.ok) {
		await tx.webhookDelivery.update({
			where: { id: deliveryId },
			data: { status: 'succeeded', attempts: number, lastAttemptAt: now, deliveredAt: now },
		})
		await tx.webhookEndpoint.update({ where: { id: endpointId }, data: { consecutiveFailures: 0, failingSince: null } })
		return 'delivered'
	}
	await tx.webhookEndpoint.updateMany({ where: { id: endpointId, failingSince: null }, data: { failingSince: now } })
	if (manual || locked.status !== 'pending') {
		// A manual attempt never decides the fate of the delivery, nor of the endpoint.
		await tx.webhookDelivery.update({ where: { id: deliveryId }, data: { attempts: number, lastAttemptAt: now } })
		return 'failed'
	}
	const automatic = await tx.webhookAttempt.count({ where: { deliveryId, trigger: 'auto' } })
	const final = automatic >= MAX_AUTO_ATTEMPTS
	if (final) await tx.webhookEndpoint.update({ where: { id: endpointId }, data: { consecutiveFailures: { increment: 1 } } })
	const disabled = await disableIfFailing(tx, endpointId, now)
	const over = final || disabled
	await tx.webhookDelivery.update({
		where: { id: deliveryId },
		data: { attempts: number, lastAttemptAt: now, ...(over ? { status: 'failed' } : {}) },
	})
	return over ? 'failed' : 'retry'
}

/**
 * The failure policy: an endpoint whose last WEBHOOKS_DISABLE_AFTER_FAILURES deliveries all
 * exhausted their retries, or that has not answered a single 2xx for
 * WEBHOOKS_DISABLE_AFTER_HOURS, is disabled; its owner gets an email and an audit event (same
 * transaction, once: the update only matches an endpoint still enabled).
 */
async function disableIfFailing(tx: Tx, endpointId: string, now: Date) {
	const env = getEnv()
	const endpoint = await tx.webhookEndpoint.findUniqueOrThrow({
		where: { id: endpointId },
		select: {
			url: true,
			userId: true,
			disabledAt: true,
			consecutiveFailures: true,
			failingSince: true,
			user: { select: { email: true, locale: true } },
		},
	})
	if (endpoint.disabledAt) return true
	const failingMs = endpoint.failingSince ? now.getTime() - endpoint.failingSince.getTime() : 0
	const reason =
		endpoint.consecutiveFailures >= env.WEBHOOKS_DISABLE_AFTER_FAILURES
			? 'consecutive_failures'
			: failingMs >= env.WEBHOOKS_DISABLE_AFTER_HOURS * 3_600_000
				? 'failing_too_long'
				: null
	if (!reason) return false
	const updated = await tx.webhookEndpoint.updateMany({
		where: { id: endpointId, disabledAt: null },
		data: { disabledAt: now, disabledReason: reason },
	})
	if (updated.count === 0) return true
	await audit(
		'webhook_endpoint.disabled',
		{ userId: endpoint.userId, data: { endpointId, reason, consecutiveFailures: endpoint.consecutiveFailures } },
		tx,
	)
	const locale = isLocale(endpoint.user.locale) ? endpoint.user.locale : 'fr'
	await queueEmail(
		endpointDisabledEmail({
			to: endpoint.user.email,
			locale,
			host: new URL(endpoint.url).host,
			hours: Math.max(1, Math.floor(failingMs / 3_600_000)),
			link: new URL(`/settings/webhooks/${endpointId}`, env.APP_URL).toString(),
		}),
		{ tx },
	)
	return true
}

/** How long events, deliveries and their attempt log are kept (all retries end within ~28 h). */
export const WEBHOOK_LOG_RETENTION_DAYS = 30

/** Deletes events older than the retention, with their deliveries and attempts (maintenance job). */
export async function purgeWebhookLog(now = new Date()) {
	const before = new Date(now.getTime() - WEBHOOK_LOG_RETENTION_DAYS * 86_400_000)
	return privileged().outgoingEvent.deleteMany({ where: { createdAt: { lt: before } } })
}
