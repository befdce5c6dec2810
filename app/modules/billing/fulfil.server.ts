import type Stripe from 'stripe'
import { z } from 'zod'
import { debit, grant } from '#app/modules/credits/ledger.server.ts'
import { privileged, type Tx } from '#app/utils/db.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { findPack, findPlan } from './offer.server.ts'

/**
 * Stripe fulfilment: turns verified, stored Stripe events into credits, purchases and plan state.
 * Stripe retries for days, in any order, sometimes twice at once, so every handler is idempotent
 * and order-independent: grants are keyed by their Stripe object, subscription state keeps the
 * newest event, refunds are computed from cumulative amounts (decision 011), and each event's
 * effects happen in one transaction that first locks the user row, so one user's billing events
 * and credit movements are serialised.
 */

/** Why an event was not (entirely) applied; null when applied or when there was nothing to do. */
export type Flag =
	| 'ignored'
	| 'invalid_payload'
	| 'unknown_customer'
	| 'unknown_pack'
	| 'unknown_plan'
	| 'purchase_user_mismatch'
	| 'refund_unmatched'
	| 'refund_shortfall'
export type Outcome = { flag: Flag | null; detail: string | null; userId: string | null }

const TX_OPTIONS = { timeout: 15_000, maxWait: 10_000 }

// Only the fields used below are parsed (the types in node_modules/stripe describe API version
// 2026-10-28.endive). A required field that is missing means an endpoint on another API version:
// the event is flagged `invalid_payload` instead of being half-understood.
const metadata = z
	.record(z.string(), z.string())
	.nullish()
	.transform((value): Record<string, string | undefined> => value ?? {})
/** An id, or the object when it was expanded. */
const ref = z
	.union([z.string().min(1), z.object({ id: z.string().min(1) })])
	.nullish()
	.transform((value) => (typeof value === 'string' ? value : (value?.id ?? null)))

const envelopeSchema = z.object({
	id: z.string().min(1),
	type: z.string().min(1),
	created: z.number().int().positive(),
	data: z.object({ object: z.unknown() }),
})
const sessionSchema = z.object({
	id: z.string().min(1),
	mode: z.string(),
	payment_status: z.string(),
	customer: ref,
	metadata,
	payment_intent: ref,
	subscription: z.union([z.string().min(1), z.object({ id: z.string().min(1), status: z.string().min(1) })]).nullish(),
	amount_total: z.number().int().nonnegative().nullish(),
	currency: z.string().min(3).max(3).nullish(),
})
const invoiceSchema = z.object({
	id: z.string().min(1),
	customer: ref,
	metadata,
	// Since 2025-03-31 the subscription and its metadata are under `parent`.
	parent: z.object({ subscription_details: z.object({ subscription: ref, metadata }).nullish() }).nullable(),
})
const subscriptionSchema = z.object({
	id: z.string().min(1),
	customer: ref,
	metadata,
	status: z.string().min(1),
	cancel_at_period_end: z.boolean(),
	// Since 2025-03-31 the billing period is per item.
	items: z.object({ data: z.array(z.object({ current_period_end: z.number().int() })) }),
})
const chargeSchema = z.object({
	id: z.string().min(1),
	customer: ref,
	metadata,
	payment_intent: ref,
	amount: z.number().int().nonnegative(),
	amount_refunded: z.number().int().nonnegative(),
})
type Session = z.infer<typeof sessionSchema>
type Invoice = z.infer<typeof invoiceSchema>
type Subscription = z.infer<typeof subscriptionSchema>
type Charge = z.infer<typeof chargeSchema>

/**
 * Applies the stored event `webhook_events('stripe', eventId)` once and records the outcome
 * (processed_at, flag, user_id; `error` holds a flag's details, or the last failure). Throws only
 * when a retry may help (database errors, a bug): the job retries.
 */
export async function handleStoredStripeEvent(eventId: string): Promise<void> {
	const db = privileged()
	let outcome: Outcome | null = null
	try {
		outcome = await db.$transaction(async (tx) => {
			// Held until commit: a concurrent job for the same event waits, then finds it processed.
			const [row] = await tx.$queryRaw<{ processed_at: Date | null }[]>`
				SELECT processed_at FROM webhook_events WHERE provider = 'stripe' AND id = ${eventId} FOR UPDATE`
			if (!row) {
				log.warn('stripe event not stored', { eventId })
				return null
			}
			if (row.processed_at) return null
			const where = { provider_id: { provider: 'stripe', id: eventId } }
			const { payload } = await tx.webhookEvent.findUniqueOrThrow({ where, select: { payload: true } })
			const result = await applyEvent(tx, payload)
			await tx.webhookEvent.update({
				where,
				data: { processedAt: new Date(), flag: result.flag, error: result.detail, userId: result.userId },
			})
			return result
		}, TX_OPTIONS)
	} catch (error) {
		// Keep the reason next to the event for support; the job retries.
		await db.webhookEvent
			.updateMany({ where: { provider: 'stripe', id: eventId, processedAt: null }, data: { error: describe(error) } })
			.catch(() => undefined)
		throw error
	}
	if (outcome?.flag && outcome.flag !== 'ignored') log.warn('stripe event flagged', { eventId, flag: outcome.flag, detail: outcome.detail })
}

/** Applies one Stripe event in one transaction. Idempotent; any delivery order gives the same state. */
export async function processStripeEvent(event: Stripe.Event): Promise<Outcome> {
	return privileged().$transaction((tx) => applyEvent(tx, event), TX_OPTIONS)
}

async function applyEvent(tx: Tx, payload: unknown): Promise<Outcome> {
	const envelope = envelopeSchema.safeParse(payload)
	if (!envelope.success) return invalid(envelope.error)
	const { type, created, data } = envelope.data
	switch (type) {
		case 'checkout.session.completed':
		case 'checkout.session.async_payment_succeeded':
		case 'checkout.session.async_payment_failed':
			return parsed(sessionSchema, data.object, (session) => onCheckoutSession(tx, session, type))
		case 'invoice.paid':
			return parsed(invoiceSchema, data.object, (invoice) => onInvoicePaid(tx, invoice))
		case 'customer.subscription.created':
		case 'customer.subscription.updated':
		case 'customer.subscription.deleted':
			return parsed(subscriptionSchema, data.object, (subscription) => onSubscription(tx, subscription, created))
		case 'charge.refunded':
			return parsed(chargeSchema, data.object, (charge) => onChargeRefunded(tx, charge))
		default:
			return outcome(null, 'ignored')
	}
}

async function onCheckoutSession(tx: Tx, session: Session, type: string): Promise<Outcome> {
	if (session.mode === 'subscription') {
		// Plan credits come with invoice.paid; the session only makes sure the plan shows up.
		if (type !== 'checkout.session.completed' || !session.subscription) return outcome(null, 'ignored')
		return startSubscription(tx, session, session.subscription)
	}
	if (session.mode !== 'payment' || session.metadata.kind !== 'pack') return outcome(null, 'ignored')

	const userId = await lockOwner(tx, session.metadata.userId, session.customer)
	if (!userId) return unknownCustomer(session.customer)
	const purchase = await ensurePurchase(tx, userId, session)
	if (!purchase) return outcome(userId, 'unknown_pack', `session ${session.id}: pack ${session.metadata.packId ?? '(none)'}`)
	if (purchase.userId !== userId)
		return outcome(userId, 'purchase_user_mismatch', `session ${session.id}: purchase ${purchase.id} belongs to another user`)
	if (session.payment_intent)
		await tx.purchase.updateMany({
			where: { id: purchase.id, stripePaymentIntentId: null },
			data: { stripePaymentIntentId: session.payment_intent },
		})

	if (type === 'checkout.session.async_payment_failed') {
		await tx.purchase.updateMany({ where: { id: purchase.id, status: 'pending' }, data: { status: 'failed' } })
		return outcome(userId)
	}
	// 'unpaid': an asynchronous method (SEPA debit…) is on its way; async_payment_succeeded follows.
	if (session.payment_status !== 'paid' && session.payment_status !== 'no_payment_required') return outcome(userId)

	await grant(tx, {
		userId,
		credits: purchase.credits,
		reason: 'purchase',
		idempotencyKey: `stripe:checkout:${session.id}`,
		reference: `purchase:${purchase.id}`,
	})
	// A refunded purchase stays refunded; a failed one was paid after all (money received wins).
	await tx.purchase.updateMany({ where: { id: purchase.id, status: { in: ['pending', 'failed'] } }, data: { status: 'paid' } })
	return session.payment_intent ? applyEarlierRefunds(tx, userId, session.payment_intent) : outcome(userId)
}

/** The purchase row written at checkout, or one made from the session when that row is missing. */
async function ensurePurchase(tx: Tx, userId: string, session: Session) {
	const select = { id: true, userId: true, credits: true } as const
	const existing = await tx.purchase.findUnique({ where: { stripeCheckoutSessionId: session.id }, select })
	if (existing) return existing
	const packId = session.metadata.packId
	const credits = wholeNumber(session.metadata.credits) ?? (packId ? findPack(packId)?.credits : undefined)
	if (!packId || !credits) return null
	// The checkout's own insert may land at the same moment: the unique session id settles it.
	await tx.$executeRaw`
		INSERT INTO purchases (user_id, pack_id, credits, amount_cents, currency, stripe_checkout_session_id)
		VALUES (${userId}::uuid, ${packId}, ${credits}, ${session.amount_total ?? 0}, ${session.currency ?? 'eur'}, ${session.id})
		ON CONFLICT (stripe_checkout_session_id) DO NOTHING`
	return tx.purchase.findUniqueOrThrow({ where: { stripeCheckoutSessionId: session.id }, select })
}

async function startSubscription(tx: Tx, session: Session, subscription: NonNullable<Session['subscription']>): Promise<Outcome> {
	const userId = await lockOwner(tx, session.metadata.userId, session.customer)
	if (!userId) return unknownCustomer(session.customer)
	const planId = session.metadata.planId
	if (!planId) return outcome(userId, 'unknown_plan', `session ${session.id}: no planId`)
	const [id, status] = typeof subscription === 'string' ? [subscription, 'incomplete'] : [subscription.id, subscription.status]
	// Dated at the epoch: any customer.subscription.* event, older or newer than this one, wins.
	await tx.$executeRaw`
		INSERT INTO subscriptions (user_id, stripe_subscription_id, plan_id, status, stripe_event_at)
		VALUES (${userId}::uuid, ${id}, ${planId}, ${status}, 'epoch'::timestamptz)
		ON CONFLICT (stripe_subscription_id) DO NOTHING`
	return outcome(userId)
}

async function onInvoicePaid(tx: Tx, invoice: Invoice): Promise<Outcome> {
	const details = invoice.parent?.subscription_details
	if (!details) return outcome(null, 'ignored')
	const userId = await lockOwner(tx, details.metadata.userId ?? invoice.metadata.userId, invoice.customer)
	if (!userId) return unknownCustomer(invoice.customer)
	const planId = details.metadata.planId
	const plan = planId ? findPlan(planId) : null
	if (!plan) return outcome(userId, 'unknown_plan', `invoice ${invoice.id}: plan ${planId ?? '(none)'}`)
	await grant(tx, {
		userId,
		credits: plan.creditsPerMonth,
		reason: 'subscription',
		idempotencyKey: `stripe:invoice:${invoice.id}`,
		reference: `invoice:${invoice.id}`,
	})
	return outcome(userId)
}

// Stripe's `created` has one-second resolution and a subscription's created/updated/deleted
// events often share a second: ties go to the later stage of the lifecycle, then to the rest of the
// state, so the stored row is the greatest state seen whatever the arrival order.
const lifecycleRank = (status: string) => (status === 'incomplete' ? 0 : status === 'canceled' || status === 'incomplete_expired' ? 2 : 1)

async function onSubscription(tx: Tx, subscription: Subscription, created: number): Promise<Outcome> {
	const userId = await lockOwner(tx, subscription.metadata.userId, subscription.customer)
	if (!userId) return unknownCustomer(subscription.customer)
	const planId = subscription.metadata.planId
	if (!planId) return outcome(userId, 'unknown_plan', `subscription ${subscription.id}: no planId`)
	const periodEnds = subscription.items.data.map((item) => item.current_period_end)
	const periodEnd = periodEnds.length > 0 ? new Date(Math.max(...periodEnds) * 1000) : null
	await tx.$executeRaw`
		INSERT INTO subscriptions AS s (user_id, stripe_subscription_id, plan_id, status, current_period_end, cancel_at_period_end, stripe_event_at)
		VALUES (${userId}::uuid, ${subscription.id}, ${planId}, ${subscription.status}, ${periodEnd}, ${subscription.cancel_at_period_end}, ${new Date(created * 1000)})
		ON CONFLICT (stripe_subscription_id) DO UPDATE SET
			plan_id = EXCLUDED.plan_id,
			status = EXCLUDED.status,
			current_period_end = EXCLUDED.current_period_end,
			cancel_at_period_end = EXCLUDED.cancel_at_period_end,
			stripe_event_at = EXCLUDED.stripe_event_at,
			updated_at = now()
		WHERE (s.stripe_event_at, CASE WHEN s.status = 'incomplete' THEN 0 WHEN s.status IN ('canceled', 'incomplete_expired') THEN 2 ELSE 1 END,
				coalesce(s.current_period_end, '-infinity'), s.cancel_at_period_end, s.status, s.plan_id)
			<= (EXCLUDED.stripe_event_at, ${lifecycleRank(subscription.status)}::int,
				coalesce(EXCLUDED.current_period_end, '-infinity'), EXCLUDED.cancel_at_period_end, EXCLUDED.status, EXCLUDED.plan_id)`
	return outcome(userId)
}

async function onChargeRefunded(tx: Tx, charge: Charge): Promise<Outcome> {
	if (!charge.payment_intent) return outcome(null, 'ignored')
	// Our own purchase row names the buyer best; else the charge's metadata or customer.
	const bought = await tx.purchase.findUnique({ where: { stripePaymentIntentId: charge.payment_intent }, select: { userId: true } })
	const userId = bought ? await lockExisting(tx, bought.userId) : await lockOwner(tx, charge.metadata.userId, charge.customer)
	if (!userId) return unknownCustomer(charge.customer)
	return takeBack(tx, userId, { ...charge, payment_intent: charge.payment_intent })
}

/**
 * Decision 011: the credits a refund covers are floor(credits × refunded / paid), cumulative; what
 * earlier refund events did not cover is taken back, down to a balance of zero. Credits already
 * spent are not clawed back: the event is flagged `refund_shortfall` with the numbers.
 */
async function takeBack(tx: Tx, userId: string, charge: Charge & { payment_intent: string }): Promise<Outcome> {
	const purchase = await tx.purchase.findFirst({
		where: { stripePaymentIntentId: charge.payment_intent, userId, status: { in: ['paid', 'refunded'] } },
		select: { id: true, credits: true, refundedCredits: true },
	})
	// A plan's invoice, or a pack whose payment is not fulfilled yet: then the checkout event
	// applies this refund when it comes (applyEarlierRefunds).
	if (!purchase) return outcome(userId, 'refund_unmatched', `charge ${charge.id}: no paid pack for ${charge.payment_intent} (yet)`)
	if (charge.amount === 0) return outcome(userId)
	const refunded = Math.min(charge.amount_refunded, charge.amount)
	const covered = Number((BigInt(purchase.credits) * BigInt(refunded)) / BigInt(charge.amount))
	const due = covered - purchase.refundedCredits
	// An older or repeated refund event: a later one already covered it.
	if (due <= 0) return outcome(userId)
	// The user row is locked (lockOwner): no reservation can slip between this read and the debit.
	const balance = (await lockUser(tx, userId)) ?? 0
	const taken = Math.min(due, balance)
	const note = `charge ${charge.id}: ${due} credits to take back, ${taken} taken, ${due - taken} already spent`
	if (taken > 0)
		await debit(tx, {
			userId,
			credits: taken,
			reason: 'refund',
			idempotencyKey: `stripe:refund:${charge.id}:${charge.amount_refunded}`,
			reference: `purchase:${purchase.id}`,
			note,
		})
	await tx.purchase.update({
		where: { id: purchase.id },
		data: { refundedCredits: covered, ...(refunded === charge.amount ? { status: 'refunded' as const } : {}) },
	})
	return taken < due ? outcome(userId, 'refund_shortfall', `purchase ${purchase.id}, ${note}`) : outcome(userId)
}

/**
 * Refund events stored before their purchase was paid (flagged refund_unmatched) are applied as
 * soon as it is. Both sides hold the user lock, so a refund is never missed by both.
 */
async function applyEarlierRefunds(tx: Tx, userId: string, paymentIntentId: string): Promise<Outcome> {
	const rows = await tx.$queryRaw<{ payload: unknown }[]>`
		SELECT payload FROM webhook_events
		WHERE provider = 'stripe' AND type = 'charge.refunded' AND payload #>> '{data,object,payment_intent}' = ${paymentIntentId}`
	// amount_refunded is cumulative per charge: the largest covers the others.
	let latest: (Charge & { payment_intent: string }) | null = null
	for (const row of rows) {
		const charge = chargeSchema.safeParse(envelopeSchema.safeParse(row.payload).data?.data.object)
		if (charge.success && charge.data.payment_intent === paymentIntentId && charge.data.amount_refunded > (latest?.amount_refunded ?? -1))
			latest = { ...charge.data, payment_intent: paymentIntentId }
	}
	return latest ? takeBack(tx, userId, latest) : outcome(userId)
}

/**
 * The user an object belongs to, with their row locked for the rest of the transaction:
 * `metadata.userId` if it names a user whose Stripe customer is unset or is the object's, else
 * the user of the object's customer. Null when neither is known.
 */
async function lockOwner(tx: Tx, metadataUserId: string | undefined, customerId: string | null) {
	if (metadataUserId && z.uuid().safeParse(metadataUserId).success) {
		const user = await tx.user.findUnique({ where: { id: metadataUserId }, select: { id: true, stripeCustomerId: true } })
		if (user && (user.stripeCustomerId === null || user.stripeCustomerId === customerId)) return lockExisting(tx, user.id)
	}
	if (!customerId) return null
	const user = await tx.user.findUnique({ where: { stripeCustomerId: customerId }, select: { id: true } })
	return user ? lockExisting(tx, user.id) : null
}

async function lockExisting(tx: Tx, userId: string) {
	return (await lockUser(tx, userId)) === null ? null : userId
}

/** Locks the user row (as the ledger trigger does) and returns the balance; null if the user is gone. */
async function lockUser(tx: Tx, userId: string): Promise<number | null> {
	const [row] = await tx.$queryRaw<{ credit_balance: number }[]>`
		SELECT credit_balance FROM users WHERE id = ${userId}::uuid FOR NO KEY UPDATE`
	return row ? row.credit_balance : null
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, then: (value: T) => Promise<Outcome>): Promise<Outcome> {
	const result = schema.safeParse(value)
	return result.success ? then(result.data) : Promise.resolve(invalid(result.error))
}

function outcome(userId: string | null, flag: Flag | null = null, detail: string | null = null): Outcome {
	return { flag, detail, userId }
}

function unknownCustomer(customerId: string | null) {
	return outcome(null, 'unknown_customer', `customer ${customerId ?? '(none)'}`)
}

function invalid(error: z.ZodError) {
	return outcome(null, 'invalid_payload', error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; '))
}

function wholeNumber(value: string | undefined) {
	return value && /^[1-9]\d{0,8}$/.test(value) ? Number(value) : undefined
}

function describe(error: unknown) {
	return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000)
}
