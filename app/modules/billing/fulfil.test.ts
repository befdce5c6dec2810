import crypto from 'node:crypto'
import type Stripe from 'stripe'
import { describe, expect, test } from 'vitest'
import { capture, getBalance, reserve } from '#app/modules/credits/ledger.server.ts'
import { privileged, withUser } from '#app/utils/db.server.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { handleStoredStripeEvent, processStripeEvent } from './fulfil.server.ts'

// Stripe objects as webhooks carry them (API 2026-10-28.endive): ids with their prefixes, unix
// timestamps, metadata as the checkout code sets it. Only the fields that matter are filled in;
// DeepPartial keeps each one checked against the SDK's types.

type DeepPartial<T> = T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T
type EventType = Stripe.Event['type']
type ObjectOf<T extends EventType> = Extract<Stripe.Event, { type: T }>['data']['object']

const DAY = 86_400
/** Events of the recent past (so a row wrongly dated `now()` would beat them). */
const T0 = Math.floor(Date.now() / 1000) - 200 * DAY
const PACK = { id: 'decouverte', credits: 20, priceCents: 1900 }
const PLAN = { id: 'solo', creditsPerMonth: 40, priceCents: 2900 }

const stripeId = (prefix: string) => `${prefix}_${crypto.randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`

function stripeEvent<T extends EventType>(type: T, object: DeepPartial<ObjectOf<T>>, created: number): Stripe.Event {
	return {
		id: stripeId('evt'),
		object: 'event',
		api_version: '2026-10-28.endive',
		created,
		data: { object },
		livemode: false,
		pending_webhooks: 1,
		request: { id: null, idempotency_key: null },
		type,
	} as unknown as Stripe.Event
}

type Buyer = { id: string; customerId: string | null }

/** A user made by the login code (with its welcome credits), and their Stripe customer. */
async function buyer(options: { withCustomer?: boolean } = {}) {
	const user = await loggedInUser()
	const customerId = options.withCustomer === false ? null : stripeId('cus')
	if (customerId) await privileged().user.update({ where: { id: user.id }, data: { stripeCustomerId: customerId } })
	return { id: user.id, customerId, start: await getBalance(privileged(), user.id) }
}

function packSession(
	user: Buyer,
	created: number,
	overrides: { payment_status?: Stripe.Checkout.Session.PaymentStatus; customer?: string; payment_intent?: string } = {},
) {
	return {
		id: stripeId('cs_test'),
		object: 'checkout.session',
		mode: 'payment',
		status: 'complete',
		payment_status: 'paid',
		amount_subtotal: PACK.priceCents,
		amount_total: PACK.priceCents,
		currency: 'eur',
		customer: user.customerId,
		metadata: { userId: user.id, kind: 'pack', packId: PACK.id, credits: String(PACK.credits) },
		payment_intent: stripeId('pi'),
		subscription: null,
		created,
		expires_at: created + DAY,
		livemode: false,
		locale: 'fr',
		success_url: 'https://renzo.example/credits?paid=1',
		cancel_url: 'https://renzo.example/credits',
		...overrides,
	} satisfies DeepPartial<Stripe.Checkout.Session>
}

function charge(user: Buyer, paymentIntent: string, amountRefunded: number, created: number, id = stripeId('ch')) {
	return {
		id,
		object: 'charge',
		amount: PACK.priceCents,
		amount_captured: PACK.priceCents,
		amount_refunded: amountRefunded,
		captured: true,
		paid: true,
		refunded: amountRefunded === PACK.priceCents,
		status: 'succeeded',
		currency: 'eur',
		customer: user.customerId,
		payment_intent: paymentIntent,
		metadata: {},
		created,
		livemode: false,
	} satisfies DeepPartial<Stripe.Charge>
}

function subscription(
	user: Buyer,
	id: string,
	state: { status: Stripe.Subscription.Status; periodEnd: number; cancelAtPeriodEnd?: boolean; created: number },
) {
	return {
		id,
		object: 'subscription',
		customer: user.customerId ?? undefined,
		status: state.status,
		cancel_at_period_end: state.cancelAtPeriodEnd ?? false,
		metadata: { userId: user.id, planId: PLAN.id },
		items: {
			object: 'list',
			data: [
				{
					id: `si_${id.slice(4)}`,
					object: 'subscription_item',
					current_period_start: state.periodEnd - 30 * DAY,
					current_period_end: state.periodEnd,
					subscription: id,
					quantity: 1,
				},
			],
			has_more: false,
			url: `/v1/subscription_items?subscription=${id}`,
		},
		collection_method: 'charge_automatically',
		currency: 'eur',
		created: state.created,
		start_date: state.created,
		livemode: false,
	} satisfies DeepPartial<Stripe.Subscription>
}

function invoice(user: Buyer, subscriptionId: string, periodStart: number, reason: Stripe.Invoice.BillingReason, planId = PLAN.id) {
	return {
		id: stripeId('in'),
		object: 'invoice',
		customer: user.customerId,
		status: 'paid',
		billing_reason: reason,
		amount_due: PLAN.priceCents,
		amount_paid: PLAN.priceCents,
		amount_remaining: 0,
		currency: 'eur',
		period_start: periodStart,
		period_end: periodStart + 30 * DAY,
		created: periodStart,
		metadata: {},
		parent: {
			type: 'subscription_details',
			quote_details: null,
			subscription_details: { subscription: subscriptionId, metadata: { userId: user.id, planId } },
		},
		livemode: false,
	} satisfies DeepPartial<Stripe.Invoice>
}

/** What the webhook route does: store the verified event once under its id. */
async function store(event: Stripe.Event) {
	await privileged().webhookEvent.createMany({
		data: [{ provider: 'stripe', id: event.id, type: event.type, payload: JSON.parse(JSON.stringify(event)) as object }],
		skipDuplicates: true,
	})
}

function storedEvent(id: string) {
	return privileged().webhookEvent.findUniqueOrThrow({ where: { provider_id: { provider: 'stripe', id } } })
}

function purchasesOf(userId: string) {
	return privileged().purchase.findMany({
		where: { userId },
		select: { packId: true, credits: true, amountCents: true, status: true, refundedCredits: true, stripePaymentIntentId: true },
	})
}

function movementsOf(userId: string) {
	return privileged().creditLedger.findMany({
		where: { userId, reason: { not: 'welcome_bonus' } },
		orderBy: { seq: 'asc' },
		select: { delta: true, reason: true, idempotencyKey: true, reference: true, balanceAfter: true, note: true },
	})
}

/** mulberry32: a small seeded PRNG, so a failing order can be replayed. */
function prng(seed: number) {
	let state = seed >>> 0
	return () => {
		state = (state + 0x6d2b79f5) >>> 0
		let t = state
		t = Math.imul(t ^ (t >>> 15), t | 1)
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
	}
}

function shuffle<T>(items: T[], random: () => number) {
	const copy = [...items]
	for (let i = copy.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1))
		;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
	}
	return copy
}

describe('a pack, a plan and their refunds, delivered in any order', () => {
	test('every event three times, shuffled (5 seeds): the same balance, purchase and subscription', async () => {
		const seen = { updateAfterDelete: 0, refundBeforeCheckout: 0, invoiceBeforeCheckout: 0 }
		for (const seed of [1, 2, 3, 4, 5]) {
			const random = prng(seed)
			const user = await buyer()
			const t = T0 + seed * 1_000_000

			const pack = packSession(user, t)
			// Half the seeds find the row the checkout page writes; the others must make it.
			if (seed % 2 === 0)
				await privileged().purchase.create({
					data: {
						userId: user.id,
						packId: PACK.id,
						credits: PACK.credits,
						amountCents: PACK.priceCents,
						stripeCheckoutSessionId: pack.id,
					},
				})
			const packCharge = charge(user, pack.payment_intent, 950, t + DAY)
			const sub = stripeId('sub')
			const start = t + 1_000
			const invoices = [0, 30, 60].map((days) =>
				invoice(user, sub, start + days * DAY, days ? 'subscription_cycle' : 'subscription_create'),
			)
			const cancelled = subscription(user, sub, { status: 'canceled', periodEnd: start + 90 * DAY, created: start })
			const events = {
				packPaid: stripeEvent('checkout.session.completed', pack, t + 5),
				// Half of the 19 € refunded: floor(20 × 950 / 1900) = 10 credits.
				packRefund: stripeEvent('charge.refunded', packCharge, t + DAY),
				// The subscription is created incomplete and activated within the same second.
				subCreated: stripeEvent(
					'customer.subscription.created',
					subscription(user, sub, { status: 'incomplete', periodEnd: start + 30 * DAY, created: start }),
					start,
				),
				subActive: stripeEvent(
					'customer.subscription.updated',
					subscription(user, sub, { status: 'active', periodEnd: start + 30 * DAY, created: start }),
					start,
				),
				invoice1: stripeEvent('invoice.paid', invoices[0]!, start + 1),
				planCheckout: stripeEvent(
					'checkout.session.completed',
					{
						...packSession(user, start - 60),
						mode: 'subscription',
						amount_total: PLAN.priceCents,
						payment_intent: null,
						subscription: sub,
						metadata: { userId: user.id, kind: 'plan', planId: PLAN.id },
					},
					start + 2,
				),
				renewal1: stripeEvent('invoice.paid', invoices[1]!, start + 30 * DAY),
				subRenewed: stripeEvent(
					'customer.subscription.updated',
					subscription(user, sub, { status: 'active', periodEnd: start + 60 * DAY, created: start }),
					start + 30 * DAY,
				),
				renewal2: stripeEvent('invoice.paid', invoices[2]!, start + 60 * DAY),
				subCancelling: stripeEvent(
					'customer.subscription.updated',
					subscription(user, sub, { status: 'active', periodEnd: start + 90 * DAY, cancelAtPeriodEnd: true, created: start }),
					start + 61 * DAY,
				),
				subDeleted: stripeEvent('customer.subscription.deleted', cancelled, start + 90 * DAY),
				unrelated: stripeEvent(
					'payment_intent.succeeded',
					{ id: pack.payment_intent, object: 'payment_intent', amount: PACK.priceCents, status: 'succeeded' },
					t + 4,
				),
			}

			const deliveries = shuffle(
				Object.values(events).flatMap((event) => [event, event, event]),
				random,
			)
			const firstAt = (event: Stripe.Event) => deliveries.indexOf(event)
			if (deliveries.lastIndexOf(events.subCancelling) > firstAt(events.subDeleted)) seen.updateAfterDelete++
			if (firstAt(events.packRefund) < firstAt(events.packPaid)) seen.refundBeforeCheckout++
			if (firstAt(events.invoice1) < firstAt(events.planCheckout)) seen.invoiceBeforeCheckout++

			for (const event of deliveries) {
				await store(event)
				// Through the job (deduped on the event id) or straight in (a redelivery the id did not catch).
				if (random() < 0.5) await handleStoredStripeEvent(event.id)
				else await processStripeEvent(event)
			}
			for (const event of Object.values(events)) await handleStoredStripeEvent(event.id)

			const context = `seed ${seed}`
			expect(await getBalance(privileged(), user.id), context).toBe(user.start + PACK.credits - 10 + 3 * PLAN.creditsPerMonth)
			expect(await purchasesOf(user.id), context).toEqual([
				{
					packId: PACK.id,
					credits: PACK.credits,
					amountCents: PACK.priceCents,
					status: 'paid',
					refundedCredits: 10,
					stripePaymentIntentId: pack.payment_intent,
				},
			])
			const movements = await movementsOf(user.id)
			expect(movements.map((m) => [m.reason, m.delta, m.idempotencyKey]).sort(), context).toEqual(
				[
					['purchase', 20, `stripe:checkout:${pack.id}`],
					['refund', -10, `stripe:refund:${packCharge.id}:950`],
					...invoices.map((paid) => ['subscription', 40, `stripe:invoice:${paid.id}`]),
				].sort(),
			)
			expect(movements.every((m) => m.balanceAfter >= 0)).toBe(true)
			expect(
				await privileged().subscription.findMany({
					where: { userId: user.id },
					select: {
						stripeSubscriptionId: true,
						planId: true,
						status: true,
						currentPeriodEnd: true,
						cancelAtPeriodEnd: true,
						stripeEventAt: true,
					},
				}),
				context,
			).toEqual([
				{
					stripeSubscriptionId: sub,
					planId: PLAN.id,
					status: 'canceled',
					currentPeriodEnd: new Date((start + 90 * DAY) * 1000),
					cancelAtPeriodEnd: false,
					stripeEventAt: new Date((start + 90 * DAY) * 1000),
				},
			])
			const stored = await privileged().webhookEvent.findMany({
				where: { id: { in: Object.values(events).map((e) => e.id) } },
				select: { id: true, processedAt: true, flag: true, userId: true },
			})
			expect(stored.every((row) => row.processedAt !== null)).toBe(true)
			expect(stored.find((row) => row.id === events.unrelated.id)?.flag).toBe('ignored')
			expect(stored.find((row) => row.id === events.invoice1.id)?.userId).toBe(user.id)
		}
		// The seeds do exercise the hard orders.
		expect(seen.updateAfterDelete).toBeGreaterThan(0)
		expect(seen.refundBeforeCheckout).toBeGreaterThan(0)
		expect(seen.invoiceBeforeCheckout).toBeGreaterThan(0)
	})

	test('10 concurrent deliveries of the same event grant once', async () => {
		const user = await buyer()
		const paid = stripeEvent('checkout.session.completed', packSession(user, T0), T0)
		const renewal = stripeEvent('invoice.paid', invoice(user, stripeId('sub'), T0, 'subscription_cycle'), T0)
		const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => processStripeEvent(i % 2 ? paid : renewal)))
		expect(outcomes.every((o) => o.flag === null)).toBe(true)
		expect(await getBalance(privileged(), user.id)).toBe(user.start + PACK.credits + PLAN.creditsPerMonth)
		expect(await movementsOf(user.id)).toHaveLength(2)
		expect((await purchasesOf(user.id)).map((p) => p.status)).toEqual(['paid'])
	})
})

describe('subscription state', () => {
	test('an older event never overwrites a newer one, and the checkout event never overwrites either', async () => {
		const user = await buyer()
		const sub = stripeId('sub')
		const t = T0
		const deleted = stripeEvent(
			'customer.subscription.deleted',
			subscription(user, sub, { status: 'canceled', periodEnd: t + 30 * DAY, created: t }),
			t + 10 * DAY,
		)
		const updated = stripeEvent(
			'customer.subscription.updated',
			subscription(user, sub, { status: 'active', periodEnd: t + 30 * DAY, cancelAtPeriodEnd: true, created: t }),
			t + 5 * DAY,
		)
		const checkout = stripeEvent(
			'checkout.session.completed',
			{
				...packSession(user, t),
				mode: 'subscription',
				subscription: sub,
				payment_intent: null,
				metadata: { userId: user.id, kind: 'plan', planId: PLAN.id },
			},
			t + 11 * DAY,
		)
		for (const event of [deleted, updated, checkout]) expect((await processStripeEvent(event)).flag).toBeNull()
		const row = await privileged().subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: sub } })
		expect(row).toMatchObject({ status: 'canceled', cancelAtPeriodEnd: false, stripeEventAt: new Date((t + 10 * DAY) * 1000) })
	})

	test('events of the same second: the later lifecycle stage wins, in either order', async () => {
		const t = T0
		for (const order of ['created first', 'updated first']) {
			const user = await buyer()
			const sub = stripeId('sub')
			const created = stripeEvent(
				'customer.subscription.created',
				subscription(user, sub, { status: 'incomplete', periodEnd: t + 30 * DAY, created: t }),
				t,
			)
			const active = stripeEvent(
				'customer.subscription.updated',
				subscription(user, sub, { status: 'active', periodEnd: t + 30 * DAY, created: t }),
				t,
			)
			for (const event of order === 'created first' ? [created, active] : [active, created]) await processStripeEvent(event)
			expect((await privileged().subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: sub } })).status, order).toBe('active')
		}
	})

	test('the checkout event first makes an incomplete row that any subscription event replaces', async () => {
		const user = await buyer()
		const sub = stripeId('sub')
		const t = T0
		await processStripeEvent(
			stripeEvent(
				'checkout.session.completed',
				{
					...packSession(user, t),
					mode: 'subscription',
					subscription: sub,
					payment_intent: null,
					metadata: { userId: user.id, kind: 'plan', planId: PLAN.id },
				},
				t + 60,
			),
		)
		expect(await privileged().subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: sub } })).toMatchObject({
			status: 'incomplete',
			planId: PLAN.id,
			userId: user.id,
		})
		// Older than the checkout event, yet newer than what the checkout event knew.
		await processStripeEvent(
			stripeEvent(
				'customer.subscription.updated',
				subscription(user, sub, { status: 'active', periodEnd: t + 30 * DAY, created: t }),
				t + 2,
			),
		)
		expect(await privileged().subscription.findUniqueOrThrow({ where: { stripeSubscriptionId: sub } })).toMatchObject({
			status: 'active',
			currentPeriodEnd: new Date((t + 30 * DAY) * 1000),
		})
	})

	test('an invoice for a plan that is not on sale is flagged and grants nothing', async () => {
		const user = await buyer()
		const event = stripeEvent('invoice.paid', invoice(user, stripeId('sub'), T0, 'subscription_cycle', 'retired-plan'), T0)
		expect(await processStripeEvent(event)).toMatchObject({ flag: 'unknown_plan', userId: user.id })
		expect(await getBalance(privileged(), user.id)).toBe(user.start)
	})
})

describe('unknown customers and stored events', () => {
	test('an event for an unknown customer is flagged, grants nothing and is marked processed', async () => {
		const owner = await buyer()
		const stranger: Buyer = { id: crypto.randomUUID(), customerId: stripeId('cus') }
		// Metadata naming a real user whose Stripe customer is another one is not trusted either.
		const borrowed: Buyer = { id: owner.id, customerId: stripeId('cus') }
		for (const who of [stranger, borrowed]) {
			const event = stripeEvent('invoice.paid', invoice(who, stripeId('sub'), T0, 'subscription_cycle'), T0)
			expect(await processStripeEvent(event)).toMatchObject({ flag: 'unknown_customer', userId: null })
			await store(event)
			await handleStoredStripeEvent(event.id)
			const row = await storedEvent(event.id)
			expect(row).toMatchObject({ flag: 'unknown_customer', userId: null })
			expect(row.processedAt).toBeInstanceOf(Date)
			// Done once: a second job leaves the row as it is.
			await handleStoredStripeEvent(event.id)
			expect((await storedEvent(event.id)).processedAt).toEqual(row.processedAt)
		}
		expect(await getBalance(privileged(), owner.id)).toBe(owner.start)
		expect(await movementsOf(owner.id)).toEqual([])
		expect(await privileged().purchase.count({ where: { userId: owner.id } })).toBe(0)
	})

	test('a payload of another API version is flagged invalid_payload, not half-applied', async () => {
		const user = await buyer()
		// Before 2025-03-31 the subscription sat on the invoice and there was no `parent`.
		const { parent: _parent, ...legacy } = invoice(user, stripeId('sub'), T0, 'subscription_cycle')
		const event = stripeEvent('invoice.paid', { ...legacy, subscription: stripeId('sub') } as DeepPartial<Stripe.Invoice>, T0)
		await store(event)
		await handleStoredStripeEvent(event.id)
		const row = await storedEvent(event.id)
		expect(row).toMatchObject({ flag: 'invalid_payload' })
		expect(row.error).toMatch(/parent/)
		expect(await getBalance(privileged(), user.id)).toBe(user.start)
	})

	test('a database error is recorded on the event and thrown, so the job retries', async () => {
		const user = await buyer()
		const first = packSession(user, T0)
		await processStripeEvent(stripeEvent('checkout.session.completed', first, T0))
		// A second session claiming the same payment intent breaks a unique index.
		const clash = stripeEvent('checkout.session.completed', packSession(user, T0 + 100, { payment_intent: first.payment_intent }), T0 + 100)
		await store(clash)
		await expect(handleStoredStripeEvent(clash.id)).rejects.toThrow()
		const row = await storedEvent(clash.id)
		expect(row.processedAt).toBeNull()
		expect(row.error).toMatch(/stripe_payment_intent_id|Unique constraint/i)
		expect(await getBalance(privileged(), user.id)).toBe(user.start + PACK.credits)
	})

	test('a missing stored event is a no-op', async () => {
		await expect(handleStoredStripeEvent('evt_missing')).resolves.toBeUndefined()
	})
})

describe('asynchronous payments', () => {
	test('completed (unpaid) then async_payment_succeeded grants once; metadata alone finds a user without a customer', async () => {
		const user = await buyer({ withCustomer: false })
		const session = packSession(user, T0, { payment_status: 'unpaid', customer: stripeId('cus') })
		const completed = stripeEvent('checkout.session.completed', session, T0)
		const succeeded = stripeEvent('checkout.session.async_payment_succeeded', { ...session, payment_status: 'paid' }, T0 + 3 * DAY)

		expect(await processStripeEvent(completed)).toMatchObject({ flag: null, userId: user.id })
		expect(await purchasesOf(user.id)).toMatchObject([{ status: 'pending', stripePaymentIntentId: session.payment_intent }])
		expect(await getBalance(privileged(), user.id)).toBe(user.start)

		for (const event of [succeeded, completed, succeeded]) await processStripeEvent(event)
		expect(await purchasesOf(user.id)).toMatchObject([{ status: 'paid' }])
		expect(await getBalance(privileged(), user.id)).toBe(user.start + PACK.credits)
		expect(await movementsOf(user.id)).toHaveLength(1)

		// A failure notice for a paid session never un-pays it.
		await processStripeEvent(stripeEvent('checkout.session.async_payment_failed', session, T0 + 4 * DAY))
		expect(await purchasesOf(user.id)).toMatchObject([{ status: 'paid' }])
	})

	test('completed (unpaid) then async_payment_failed: the purchase fails, nothing is granted', async () => {
		const user = await buyer()
		const session = packSession(user, T0, { payment_status: 'unpaid' })
		await processStripeEvent(stripeEvent('checkout.session.async_payment_failed', session, T0 + 3 * DAY))
		await processStripeEvent(stripeEvent('checkout.session.completed', session, T0))
		expect(await purchasesOf(user.id)).toMatchObject([{ status: 'failed', credits: PACK.credits }])
		expect(await getBalance(privileged(), user.id)).toBe(user.start)
	})
})

describe('refunds (decision 011)', () => {
	async function paidPack() {
		const user = await buyer()
		const session = packSession(user, T0)
		await processStripeEvent(stripeEvent('checkout.session.completed', session, T0))
		return { user, session, paymentIntent: session.payment_intent }
	}
	const refund = (user: Buyer, paymentIntent: string, amountRefunded: number, chargeId?: string) =>
		stripeEvent('charge.refunded', charge(user, paymentIntent, amountRefunded, T0 + DAY, chargeId), T0 + DAY)

	test('a full refund before spending takes every pack credit back', async () => {
		const { user, paymentIntent } = await paidPack()
		const chargeId = stripeId('ch')
		expect(await processStripeEvent(refund(user, paymentIntent, PACK.priceCents, chargeId))).toMatchObject({ flag: null, userId: user.id })
		expect(await getBalance(privileged(), user.id)).toBe(user.start)
		expect(await purchasesOf(user.id)).toMatchObject([{ status: 'refunded', refundedCredits: PACK.credits }])
		const [, debit] = await movementsOf(user.id)
		expect(debit).toMatchObject({ reason: 'refund', delta: -PACK.credits, idempotencyKey: `stripe:refund:${chargeId}:1900` })
		expect(debit?.reference).toMatch(/^purchase:/)
	})

	test('partial refunds are proportional, cumulative and rounded down; an older one afterwards does nothing', async () => {
		const { user, paymentIntent } = await paidPack()
		const chargeId = stripeId('ch')
		// 10.00 € of 19.00 €: 20 × 1000 / 1900 = 10.5 → 10 credits.
		const partial = refund(user, paymentIntent, 1000, chargeId)
		await processStripeEvent(partial)
		expect(await getBalance(privileged(), user.id)).toBe(user.start + 10)
		expect(await purchasesOf(user.id)).toMatchObject([{ status: 'paid', refundedCredits: 10 }])
		await processStripeEvent(refund(user, paymentIntent, PACK.priceCents, chargeId))
		await processStripeEvent(partial)
		expect(await getBalance(privileged(), user.id)).toBe(user.start)
		expect(await purchasesOf(user.id)).toMatchObject([{ status: 'refunded', refundedCredits: PACK.credits }])
		expect((await movementsOf(user.id)).map((m) => m.delta)).toEqual([20, -10, -10])
	})

	test('a refund after spending takes back what is left, never below zero, and is flagged refund_shortfall', async () => {
		const { user, paymentIntent } = await paidPack()
		const spend = user.start + PACK.credits - 3
		await withUser(user.id, (tx) => reserve(tx, { userId: user.id, credits: spend, reference: 'transformation:test' }))
		await capture(privileged(), { userId: user.id, reference: 'transformation:test' })
		const event = refund(user, paymentIntent, PACK.priceCents)
		await store(event)
		await handleStoredStripeEvent(event.id)

		const row = await storedEvent(event.id)
		expect(row).toMatchObject({ flag: 'refund_shortfall', userId: user.id })
		expect(row.error).toContain('20 credits to take back, 3 taken, 17 already spent')
		expect(await getBalance(privileged(), user.id)).toBe(0)
		expect(await purchasesOf(user.id)).toMatchObject([{ status: 'refunded', refundedCredits: PACK.credits }])
		const movements = await movementsOf(user.id)
		expect(movements.at(-1)).toMatchObject({ reason: 'refund', delta: -3, balanceAfter: 0 })
		expect(movements.every((m) => m.balanceAfter >= 0)).toBe(true)
		// Delivered again (the id dedupe missed it): nothing more to take.
		expect(await processStripeEvent(event)).toMatchObject({ flag: null })
		expect(await getBalance(privileged(), user.id)).toBe(0)
	})

	test('the same refund event twice, or five times at once, debits once', async () => {
		const { user, paymentIntent } = await paidPack()
		const event = refund(user, paymentIntent, PACK.priceCents)
		await processStripeEvent(event)
		await Promise.all(Array.from({ length: 5 }, () => processStripeEvent(event)))
		expect(await getBalance(privileged(), user.id)).toBe(user.start)
		expect((await movementsOf(user.id)).filter((m) => m.reason === 'refund')).toHaveLength(1)
	})

	test('concurrent partial and full refund events take back the pack once in total', async () => {
		const buyers = await Promise.all(Array.from({ length: 4 }, () => paidPack()))
		await Promise.all(
			buyers.flatMap(({ user, paymentIntent }) => {
				const chargeId = stripeId('ch')
				const partial = refund(user, paymentIntent, 950, chargeId)
				const full = refund(user, paymentIntent, PACK.priceCents, chargeId)
				return [partial, full, partial, full].map((event) => processStripeEvent(event))
			}),
		)
		for (const { user } of buyers) {
			expect(await getBalance(privileged(), user.id)).toBe(user.start)
			expect(await purchasesOf(user.id)).toMatchObject([{ status: 'refunded', refundedCredits: PACK.credits }])
		}
	})

	test('a refund stored before its checkout event is applied when the pack is paid', async () => {
		const user = await buyer()
		const session = packSession(user, T0)
		const early = refund(user, session.payment_intent, PACK.priceCents)
		await store(early)
		await handleStoredStripeEvent(early.id)
		expect(await storedEvent(early.id)).toMatchObject({ flag: 'refund_unmatched', userId: user.id })

		const paid = stripeEvent('checkout.session.completed', session, T0)
		await store(paid)
		await handleStoredStripeEvent(paid.id)
		expect(await getBalance(privileged(), user.id)).toBe(user.start)
		expect(await purchasesOf(user.id)).toMatchObject([{ status: 'refunded', refundedCredits: PACK.credits }])
	})

	test('a refund racing its checkout event is applied exactly once, whichever runs first', async () => {
		const users = await Promise.all(Array.from({ length: 4 }, () => buyer()))
		await Promise.all(
			users.map(async (user) => {
				const session = packSession(user, T0)
				const events = [stripeEvent('checkout.session.completed', session, T0), refund(user, session.payment_intent, PACK.priceCents)]
				for (const event of events) await store(event)
				await Promise.all(events.map((event) => handleStoredStripeEvent(event.id)))
			}),
		)
		for (const user of users) {
			expect(await getBalance(privileged(), user.id)).toBe(user.start)
			expect((await movementsOf(user.id)).map((m) => m.delta)).toEqual([20, -20])
		}
	})
})
