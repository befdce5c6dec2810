import { handleStoredStripeEvent } from '#app/modules/billing/fulfil.server.ts'
import type { Payload } from '#app/modules/queue/catalog.ts'

/** Applies one stored Stripe event (grants, plan state, refunds); idempotent and order-independent. */
export async function stripeEvent(data: Payload<'stripe-event'>) {
	await handleStoredStripeEvent(data.eventId)
}
