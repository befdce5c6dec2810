import type { ActionFunctionArgs } from '@remix-run/node'
import { constructStripeEvent, isBillingConfigured, StripeSignatureError } from '#app/modules/billing/stripe.server.ts'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import { auditSignatureFailure, limitWebhookCaller } from '#app/modules/security/webhook-guard.server.ts'
import { webhookBody } from '#app/utils/body.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { log } from '#app/utils/logger.server.ts'

/** Stripe events are a few kB; a full invoice with many lines stays well under this. */
const MAX_BODY_BYTES = 512 * 1024

/**
 * Stripe's webhook: the signature is checked on the raw body (default 300 s tolerance), the event
 * is stored under its id (a redelivery is acknowledged and ignored) and its processing goes to a
 * job in the same transaction, so Stripe gets its 200 fast and nothing is lost or done twice.
 * Callers are limited per IP (generously: Stripe's own addresses send every customer's events).
 */
export async function action({ request }: ActionFunctionArgs) {
	const limited = await limitWebhookCaller(request)
	if (limited) return limited
	const body = await webhookBody(request, MAX_BODY_BYTES)
	if ('refusal' in body) return body.refusal
	if (!isBillingConfigured()) return new Response('payments are not configured', { status: 503 })
	const { rawBody } = body
	let event
	try {
		event = constructStripeEvent(rawBody, request.headers.get('stripe-signature'))
	} catch (error) {
		if (!(error instanceof StripeSignatureError)) throw error
		log.warn('stripe webhook refused', { reason: error.message })
		const reason = !request.headers.get('stripe-signature')
			? 'missing_signature'
			: /timestamp/i.test(error.message)
				? 'timestamp'
				: 'signature'
		await auditSignatureFailure(request, 'stripe', reason)
		return new Response('invalid signature', { status: 400 })
	}
	await privileged().$transaction(async (tx) => {
		const inserted = await tx.webhookEvent.createMany({
			data: [{ provider: 'stripe', id: event.id, type: event.type, payload: JSON.parse(rawBody) as object }],
			skipDuplicates: true,
		})
		if (inserted.count > 0) await enqueue('stripe-event', { eventId: event.id }, { tx })
	})
	return Response.json({ received: true })
}

export async function loader() {
	return new Response(null, { status: 405, headers: { Allow: 'POST' } })
}
