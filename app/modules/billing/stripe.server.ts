// The Stripe client and webhook check: the only code that builds the SDK (billing modules call it).
import Stripe from 'stripe'
import { type Env, getEnv } from '#app/utils/env.server.ts'

/** Thrown when payments are used without STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET. */
export class BillingNotConfiguredError extends Error {
	override name = 'BillingNotConfiguredError'
	constructor(message = 'Payments are not configured: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET') {
		super(message)
	}
}

/** A webhook whose Stripe-Signature header is missing, does not match, or is older than 300 s: answer 400. */
export class StripeSignatureError extends Error {
	override name = 'StripeSignatureError'
}

/** Whether both Stripe secrets are set (the billing pages say payments are off otherwise). */
export function isBillingConfigured(env: Pick<Env, 'STRIPE_SECRET_KEY' | 'STRIPE_WEBHOOK_SECRET'> = getEnv()): boolean {
	return Boolean(env.STRIPE_SECRET_KEY && env.STRIPE_WEBHOOK_SECRET)
}

/** host/port/protocol for the SDK from STRIPE_API_URL (an origin: the SDK always adds /v1/). */
function apiAddress(apiUrl: string): { host: string; port: number; protocol: 'http' | 'https' } {
	const url = new URL(apiUrl)
	if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`STRIPE_API_URL must be http(s): ${apiUrl}`)
	if (url.pathname !== '/' || url.search || url.hash) throw new Error(`STRIPE_API_URL must be an origin, without a path: ${apiUrl}`)
	const protocol = url.protocol === 'http:' ? 'http' : 'https'
	return {
		// Node wants an IPv6 literal without its brackets.
		host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
		port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
		protocol,
	}
}

let cached: { key: string; apiUrl: string; client: Stripe } | undefined

/** The Stripe client, built once per configuration (a test that points STRIPE_API_URL elsewhere gets a new one). */
export function getStripe(): Stripe {
	const env = getEnv()
	const key = env.STRIPE_SECRET_KEY
	if (!key || !isBillingConfigured(env)) throw new BillingNotConfiguredError()
	if (cached && cached.key === key && cached.apiUrl === env.STRIPE_API_URL) return cached.client
	const client = new Stripe(key, {
		// Pinned: the types we compile against describe exactly this version's objects.
		apiVersion: Stripe.API_VERSION,
		// Retried requests reuse their Idempotency-Key, so a retry never charges or creates twice.
		maxNetworkRetries: 2,
		timeout: 20_000,
		...apiAddress(env.STRIPE_API_URL),
	})
	cached = { key, apiUrl: env.STRIPE_API_URL, client }
	return client
}

/** How far ahead of our clock a signature's timestamp may be (clock skew). */
const FUTURE_TOLERANCE_SECONDS = 300

/**
 * Verifies a webhook on its raw body (string or bytes exactly as received) with Stripe's default
 * 300 s tolerance, and returns the event. Throws StripeSignatureError when the header is missing,
 * wrong, stale or from the future, or the body is not an event; BillingNotConfiguredError without STRIPE_WEBHOOK_SECRET.
 */
export function constructStripeEvent(rawBody: string | Buffer, signatureHeader: string | null): Stripe.Event {
	const secret = getEnv().STRIPE_WEBHOOK_SECRET
	if (!secret) throw new BillingNotConfiguredError()
	if (!signatureHeader) throw new StripeSignatureError('No Stripe-Signature header')
	let event: Stripe.Event
	try {
		event = Stripe.webhooks.constructEvent(rawBody, signatureHeader, secret)
	} catch (error) {
		if (error instanceof Stripe.errors.StripeSignatureVerificationError) throw new StripeSignatureError(error.message, { cause: error })
		// A correctly signed body that is not an event (not JSON, a v2 thin event) is refused the same way.
		throw new StripeSignatureError(error instanceof Error ? error.message : 'unreadable event', { cause: error })
	}
	// The SDK only refuses signatures that are too old; one from the future is as suspect.
	const timestamp = Number(/(?:^|,)t=(\d+)/.exec(signatureHeader)?.[1])
	if (timestamp > Date.now() / 1000 + FUTURE_TOLERANCE_SECONDS) throw new StripeSignatureError('Timestamp in the future')
	return event
}

/** Subscription states that bill or may still bill. */
const LIVE_SUBSCRIPTION_STATUSES = new Set(['active', 'trialing', 'past_due', 'unpaid', 'incomplete', 'paused'])

const isMissing = (error: unknown) => error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing'

/**
 * Account erasure: cancels the customer's live subscriptions at once (no proration, no final
 * invoice), then deletes the customer. Its invoices stay at Stripe. Retry-safe: a customer
 * already deleted (or never known to this Stripe account) resolves 'missing'.
 */
export async function deleteCustomer(customerId: string): Promise<'deleted' | 'missing'> {
	const stripe = getStripe()
	const live: string[] = []
	try {
		for await (const subscription of stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 }))
			if (LIVE_SUBSCRIPTION_STATUSES.has(subscription.status)) live.push(subscription.id)
	} catch (error) {
		if (isMissing(error)) return 'missing'
		throw error
	}
	for (const id of live) {
		await stripe.subscriptions.cancel(id).catch((error: unknown) => {
			if (!isMissing(error)) throw error
		})
	}
	try {
		await stripe.customers.del(customerId)
	} catch (error) {
		if (isMissing(error)) return 'missing'
		throw error
	}
	return 'deleted'
}
