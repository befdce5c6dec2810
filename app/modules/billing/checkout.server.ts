import type Stripe from 'stripe'
import { privileged } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { findPack, findPlan, getOffer } from './offer.server.ts'
import { getStripe } from './stripe.server.ts'

/**
 * Payments (Stripe Checkout): packs in `payment` mode, plans in `subscription` mode, one
 * customer per user created once, automatic tax and tax-id collection (agencies are
 * businesses). Credits are granted by the webhook handlers (fulfil.server.ts), never here:
 * a redirect to the success page proves nothing.
 */

type Buyer = { id: string; email: string; locale: string }

/** Stripe's locale for the user's pages and emails. */
const stripeLocale = (user: Buyer) => (user.locale === 'en' ? 'en' : 'fr')

/** The user's Stripe customer, created once (an idempotency key and a conditional update guard the race). */
export async function ensureCustomer(user: Buyer): Promise<string> {
	const db = privileged()
	const existing = await db.user.findUniqueOrThrow({ where: { id: user.id }, select: { stripeCustomerId: true } })
	if (existing.stripeCustomerId) return existing.stripeCustomerId
	const customer = await getStripe().customers.create(
		{ email: user.email, preferred_locales: [stripeLocale(user)], metadata: { userId: user.id } },
		{ idempotencyKey: `customer:${user.id}` },
	)
	await db.user.updateMany({ where: { id: user.id, stripeCustomerId: null }, data: { stripeCustomerId: customer.id } })
	const stored = await db.user.findUniqueOrThrow({ where: { id: user.id }, select: { stripeCustomerId: true } })
	return stored.stripeCustomerId ?? customer.id
}

function urls() {
	const base = getEnv().APP_URL
	return {
		success_url: new URL('/credits/thanks?session={CHECKOUT_SESSION_ID}', base).toString().replace('%7B', '{').replace('%7D', '}'),
		cancel_url: new URL('/credits?annule=1', base).toString(),
	}
}

function taxOptions(): Pick<
	Stripe.Checkout.SessionCreateParams,
	'automatic_tax' | 'tax_id_collection' | 'customer_update' | 'billing_address_collection'
> {
	return {
		automatic_tax: { enabled: getEnv().STRIPE_AUTOMATIC_TAX },
		tax_id_collection: { enabled: true },
		// An existing customer must let Checkout save the name and address that the tax id needs.
		customer_update: { name: 'auto', address: 'auto' },
		billing_address_collection: 'required',
	}
}

/** Thrown for an id that is not on sale. */
export class UnknownOfferError extends Error {}

/** One line of the offer, priced inline (VAT included; Stripe Tax splits it out). */
function offerLine(name: string, priceCents: number, recurring?: 'month'): Stripe.Checkout.SessionCreateParams.LineItem {
	return {
		quantity: 1,
		price_data: {
			currency: getOffer().currency,
			unit_amount: priceCents,
			tax_behavior: 'inclusive',
			...(recurring ? { recurring: { interval: recurring } } : {}),
			product_data: { name },
		},
	}
}

/** A Checkout Session for the user's customer with what every purchase shares (locale, tax, return URLs). */
async function openCheckout(user: Buyer, params: Stripe.Checkout.SessionCreateParams) {
	const session = await getStripe().checkout.sessions.create({
		customer: await ensureCustomer(user),
		locale: stripeLocale(user),
		...taxOptions(),
		...urls(),
		...params,
	})
	if (!session.url) throw new Error('Stripe returned a session without a URL')
	return { id: session.id, url: session.url }
}

/** A Checkout Session for a credit pack; the purchase row is recorded as pending. Returns its URL. */
export async function checkoutPack(user: Buyer, packId: string): Promise<string> {
	const pack = findPack(packId)
	if (!pack) throw new UnknownOfferError(packId)
	const metadata = { userId: user.id, kind: 'pack', packId: pack.id, credits: String(pack.credits) }
	const session = await openCheckout(user, {
		mode: 'payment',
		line_items: [offerLine(`Renzo — ${pack.name.fr} (${pack.credits} crédits)`, pack.priceCents)],
		metadata,
		payment_intent_data: { metadata },
		invoice_creation: { enabled: true },
	})
	await privileged().purchase.create({
		data: {
			userId: user.id,
			packId: pack.id,
			credits: pack.credits,
			amountCents: pack.priceCents,
			currency: getOffer().currency,
			stripeCheckoutSessionId: session.id,
		},
	})
	return session.url
}

/** A Checkout Session for a monthly plan. Returns its URL. */
export async function checkoutPlan(user: Buyer, planId: string): Promise<string> {
	const plan = findPlan(planId)
	if (!plan) throw new UnknownOfferError(planId)
	const session = await openCheckout(user, {
		mode: 'subscription',
		line_items: [offerLine(`Renzo — ${plan.name.fr} (${plan.creditsPerMonth} crédits / mois)`, plan.priceCents, 'month')],
		metadata: { userId: user.id, kind: 'plan', planId: plan.id },
		subscription_data: { metadata: { userId: user.id, planId: plan.id } },
	})
	return session.url
}

/** The Stripe customer portal (card, plan change, cancellation, invoices). */
export async function portalUrl(user: Buyer): Promise<string> {
	const customer = await ensureCustomer(user)
	const session = await getStripe().billingPortal.sessions.create({
		customer,
		return_url: new URL('/credits', getEnv().APP_URL).toString(),
		locale: stripeLocale(user),
	})
	return session.url
}

export type InvoiceRow = {
	id: string
	number: string | null
	amountCents: number
	currency: string
	created: number
	status: string | null
	pdf: string | null
	url: string | null
}

/** The user's invoices, newest first, read from Stripe (none before the first purchase). */
export async function listInvoices(
	userId: string,
	options: { startingAfter?: string } = {},
): Promise<{ invoices: InvoiceRow[]; hasMore: boolean }> {
	const user = await privileged().user.findUniqueOrThrow({ where: { id: userId }, select: { stripeCustomerId: true } })
	if (!user.stripeCustomerId) return { invoices: [], hasMore: false }
	const page = await getStripe().invoices.list({
		customer: user.stripeCustomerId,
		limit: 20,
		...(options.startingAfter ? { starting_after: options.startingAfter } : {}),
	})
	return {
		hasMore: page.has_more,
		invoices: page.data.map((invoice) => ({
			id: invoice.id ?? '',
			number: invoice.number,
			amountCents: invoice.amount_paid || invoice.total,
			currency: invoice.currency,
			created: invoice.created,
			status: invoice.status,
			pdf: invoice.invoice_pdf ?? null,
			url: invoice.hosted_invoice_url ?? null,
		})),
	}
}

/**
 * What the success page shows for a session id: this user's pack purchase and its state, or a
 * plan checkout of this user (asked to Stripe), or null (unknown, or someone else's).
 */
export async function checkoutOutcome(
	userId: string,
	sessionId: string,
): Promise<{ kind: 'pack'; credits: number; status: string } | { kind: 'plan' } | null> {
	if (!/^cs_[A-Za-z0-9_]{1,200}$/.test(sessionId)) return null
	const purchase = await privileged().purchase.findFirst({
		where: { userId, stripeCheckoutSessionId: sessionId },
		select: { credits: true, status: true },
	})
	if (purchase) return { kind: 'pack', ...purchase }
	try {
		const session = await getStripe().checkout.sessions.retrieve(sessionId)
		return session.mode === 'subscription' && session.metadata?.userId === userId ? { kind: 'plan' } : null
	} catch {
		return null
	}
}
