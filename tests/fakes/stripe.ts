import crypto from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import Stripe from 'stripe'
import { isLoopbackUrl } from './loopback.ts'

export { isLoopbackUrl }

/**
 * A real HTTP fake of the part of Stripe's API that Renzo uses, reached through the `stripe` SDK's
 * `host`/`port`/`protocol` options (STACK-NOTES): form-encoded requests, Bearer auth, the
 * Idempotency-Key contract (same key → same answer; same key with other parameters → 400
 * idempotency_error), Stripe's error JSON. Customers (created, deleted), Checkout Sessions
 * (payment and subscription), subscriptions (listed, cancelled), billing portal sessions,
 * invoices; a hosted checkout page (`/pay/<id>`) whose « Payer » button completes the session
 * and delivers signed webhook events before redirecting to success_url, like Stripe does (events
 * signed with `Stripe.webhooks.generateTestHeaderString`, bodies pretty-printed as Stripe sends
 * them).
 *
 * SAFETY: webhooks are only ever delivered to 127.0.0.1, localhost (pinned to 127.0.0.1) or ::1
 * (`isLoopbackUrl`); any other URL is recorded as refused, never connected to.
 *
 * Not modelled: real card flows (3-D Secure, declines, async payment methods), Stripe's own retries
 * of failed deliveries (use `deliver`), proration and plan changes, promotion codes, setup mode,
 * session expiry, `ending_before` on lists other than invoices. Tax: with
 * `automatic_tax.enabled`, 20 % French VAT (inclusive prices: tax included; exclusive: added;
 * unspecified: inclusive for EUR). The portal cancels subscriptions at once (Stripe's default is
 * at the period end).
 */

export type Metadata = Record<string, string>
export type Address = {
	city: string | null
	country: string | null
	line1: string | null
	line2: string | null
	postal_code: string | null
	state: string | null
}
/** A Stripe object as the fake stores it: the fields it reads are typed, the rest is Stripe's shape. */
type StripeObject<Kind extends string> = { id: string; object: Kind; created: number; [field: string]: unknown }

export type FakeCustomer = StripeObject<'customer'> & {
	email: string | null
	name: string | null
	address: Address | null
	metadata: Metadata
	invoice_prefix: string
	deleted?: boolean
}
export type FakePrice = StripeObject<'price'> & {
	currency: string
	unit_amount: number
	product: string
	type: 'one_time' | 'recurring'
	tax_behavior: 'inclusive' | 'exclusive' | 'unspecified'
	recurring: { interval: Interval; interval_count: number; meter: null; trial_period_days: null; usage_type: 'licensed' } | null
	metadata: Metadata
}
export type FakeProduct = StripeObject<'product'> & { name: string; metadata: Metadata }
export type FakeCheckoutSession = StripeObject<'checkout.session'> & {
	mode: 'payment' | 'subscription'
	status: 'open' | 'complete' | 'expired'
	payment_status: 'paid' | 'unpaid' | 'no_payment_required'
	customer: string | null
	customer_email: string | null
	metadata: Metadata
	success_url: string | null
	cancel_url: string | null
	url: string | null
	currency: string
	amount_subtotal: number
	amount_total: number
	payment_intent: string | null
	subscription: string | null
	invoice: string | null
}
export type FakeSubscription = StripeObject<'subscription'> & {
	customer: string
	status: 'active' | 'canceled'
	metadata: Metadata
	latest_invoice: string | null
	canceled_at: number | null
	ended_at: number | null
	items: { object: 'list'; data: FakeSubscriptionItem[]; has_more: false; total_count: number; url: string }
}
export type FakeSubscriptionItem = StripeObject<'subscription_item'> & {
	price: FakePrice
	quantity: number
	current_period_start: number
	current_period_end: number
	subscription: string
}
export type FakeInvoice = StripeObject<'invoice'> & {
	customer: string
	number: string
	status: 'paid'
	amount_paid: number
	currency: string
	total: number
	hosted_invoice_url: string
	invoice_pdf: string
	billing_reason: 'subscription_create' | 'subscription_cycle' | 'manual'
	metadata: Metadata
	parent: {
		type: 'subscription_details'
		quote_details: null
		subscription_details: { metadata: Metadata; subscription: string }
	} | null
	lines: { object: 'list'; data: Record<string, unknown>[]; has_more: false; total_count: number; url: string }
}
export type FakePaymentIntent = StripeObject<'payment_intent'> & {
	amount: number
	currency: string
	customer: string | null
	metadata: Metadata
	latest_charge: string
	status: 'succeeded'
}
export type FakeCharge = StripeObject<'charge'> & {
	amount: number
	amount_refunded: number
	refunded: boolean
	currency: string
	customer: string | null
	payment_intent: string
	metadata: Metadata
}
export type FakePortalSession = StripeObject<'billing_portal.session'> & { customer: string; return_url: string | null; url: string }

/** An event as Stripe sends it (snapshot payload); `data.object` is a copy taken when built. */
export type FakeEvent = {
	id: string
	object: 'event'
	api_version: string
	created: number
	data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> }
	livemode: false
	pending_webhooks: number
	request: { id: string | null; idempotency_key: string | null }
	type: string
}

/** One delivery attempt, logged once it has an outcome; `status` is what the receiver answered, null when not sent. */
export type StripeDelivery = {
	eventId: string
	type: string
	url: string | null
	timestamp: number
	headers: Record<string, string>
	body: string
	status: number | null
	responseBody: string | null
	error: string | null
}

/** One API request the fake received; `params` is the decoded form (or query) body. */
export type SeenRequest = { method: string; path: string; headers: http.IncomingHttpHeaders; params: Record<string, unknown>; raw: string }

export type DeliverOptions = {
	/** How many times to send it (default 1), one after the other, each freshly signed. */
	times?: number
	/** Sign with this secret instead of the fake's (a bad signature for the receiver). */
	signatureSecret?: string
	/** Added to the signature's timestamp (e.g. -360: six minutes old, outside the 300 s tolerance). */
	timestampOffsetSeconds?: number
}

export type StripeFakeOptions = {
	/** Default 0 (any free port); a fixed port lets a dev server use the fake (FAKES=1). */
	port?: number
	secretKey?: string
	webhookSecret?: string
	/** Where events go (loopback only); null: built and logged, delivery fails with an error. */
	webhookUrl?: string | null
	/**
	 * Order of a completed checkout's events. `session-first` (default): checkout.session.completed,
	 * then customer.subscription.created and invoice.paid. `session-last`: the reverse, as Stripe
	 * often does (it promises no order).
	 */
	eventOrder?: 'session-first' | 'session-last'
}

/** What the payer types on the hosted page (all optional). */
export type CheckoutInput = { name?: string; businessName?: string; taxId?: string; address?: Partial<Address> }

type Interval = 'day' | 'week' | 'month' | 'year'
type Line = { price: FakePrice; product: FakeProduct; quantity: number; amount: number; tax: number }
type SessionEntry = {
	session: FakeCheckoutSession
	lines: Line[]
	automaticTax: boolean
	taxIdCollection: boolean
	customerUpdate: { name?: string; address?: string; shipping?: string }
	subscriptionMetadata: Metadata
	paymentIntentMetadata: Metadata
	invoiceCreation: { enabled: boolean; metadata: Metadata }
}
type Params = Record<string, unknown>
type StoredAnswer = { fingerprint: string; status: number; body: string }

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const VAT_RATE_PERCENT = 20
const DEFAULT_ADDRESS: Address = { city: 'Paris', country: 'FR', line1: '1 rue de Rivoli', line2: null, postal_code: '75001', state: null }
const CUSTOMER_PARAMS = new Set([
	'address',
	'balance',
	'cash_balance',
	'description',
	'email',
	'expand',
	'invoice_prefix',
	'invoice_settings',
	'metadata',
	'name',
	'next_invoice_sequence',
	'payment_method',
	'phone',
	'preferred_locales',
	'shipping',
	'source',
	'tax',
	'tax_exempt',
	'tax_id_data',
	'test_clock',
	'validate',
])
const CHECKOUT_PARAMS = new Set(
	(
		'adaptive_pricing after_expiration allow_promotion_codes allowed_payment_method_types automatic_tax billing_address_collection ' +
		'branding_settings cancel_url client_reference_id consent_collection currency custom_fields custom_text customer customer_account ' +
		'customer_creation customer_email customer_update discounts excluded_payment_method_types expand expires_at integration_identifier ' +
		'invoice_creation line_items locale managed_payments metadata mode name_collection optional_items origin_context payment_intent_data ' +
		'payment_method_collection payment_method_configuration payment_method_data payment_method_options permissions phone_number_collection ' +
		'redirect_on_completion return_url saved_payment_method_options setup_intent_data shipping_address_collection shipping_options ' +
		'submit_type subscription_data success_url tax_id_collection ui_mode wallet_options'
	).split(' '),
)
const PORTAL_PARAMS = new Set([
	'configuration',
	'customer',
	'customer_account',
	'expand',
	'flow_data',
	'locale',
	'on_behalf_of',
	'return_url',
])
const INVOICE_LIST_PARAMS = new Set([
	'collection_method',
	'created',
	'customer',
	'customer_account',
	'due_date',
	'ending_before',
	'expand',
	'limit',
	'starting_after',
	'status',
	'subscription',
])

const SUBSCRIPTION_LIST_PARAMS = new Set([
	'automatic_tax',
	'collection_method',
	'created',
	'current_period_end',
	'current_period_start',
	'customer',
	'customer_account',
	'ending_before',
	'expand',
	'limit',
	'price',
	'starting_after',
	'status',
	'test_clock',
])
const SUBSCRIPTION_LIST_STATUSES = [
	'active',
	'all',
	'canceled',
	'ended',
	'incomplete',
	'incomplete_expired',
	'past_due',
	'paused',
	'trialing',
	'unpaid',
] as const

/**
 * Decodes Stripe's form encoding (`a[b][0][c]=v`, as the SDK writes it) into nested objects,
 * with arrays for numeric keys (never under `metadata`, whose keys are free). Values stay strings.
 */
export function parseStripeForm(raw: string): Params {
	const root: Params = {}
	for (const [key, value] of new URLSearchParams(raw)) {
		const path = key.replace(/\]/g, '').split('[')
		if (path.some((segment) => segment === '__proto__' || segment === 'constructor' || segment === 'prototype')) continue
		let node = root
		path.forEach((segment, index) => {
			if (index === path.length - 1) {
				node[segment] = value
				return
			}
			const next = node[segment]
			if (typeof next !== 'object' || next === null) node[segment] = {}
			node = node[segment] as Params
		})
	}
	return arrayify(root, '') as Params
}

function arrayify(value: unknown, key: string): unknown {
	if (typeof value !== 'object' || value === null) return value
	const entries = Object.entries(value as Params).map(([k, v]) => [k, arrayify(v, k)] as const)
	if (key !== 'metadata' && entries.length > 0 && entries.every(([k]) => /^\d+$/.test(k)))
		return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v)
	return Object.fromEntries(entries)
}

function randomId(prefix: string, length = 24) {
	return prefix + Array.from({ length }, () => ALPHANUMERIC[crypto.randomInt(ALPHANUMERIC.length)]).join('')
}

function now() {
	return Math.floor(Date.now() / 1000)
}

/** `start` plus `count` intervals, calendar-aware for months and years (as Stripe bills). */
function addInterval(start: number, interval: Interval, count: number) {
	const date = new Date(start * 1000)
	if (interval === 'day') date.setUTCDate(date.getUTCDate() + count)
	if (interval === 'week') date.setUTCDate(date.getUTCDate() + 7 * count)
	if (interval === 'month') date.setUTCMonth(date.getUTCMonth() + count)
	if (interval === 'year') date.setUTCFullYear(date.getUTCFullYear() + count)
	return Math.floor(date.getTime() / 1000)
}

function escapeHtml(text: string) {
	return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)
}

function money(cents: number, currency: string) {
	return new Intl.NumberFormat('fr-FR', { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100)
}

function errorMessage(error: unknown) {
	return error instanceof Error ? error.message : String(error)
}

function readBody(req: http.IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = []
		req.on('data', (chunk: Buffer) => chunks.push(chunk))
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
		req.on('error', reject)
	})
}

/** A POST to a loopback URL (refused before any socket exists otherwise); `localhost` is pinned to 127.0.0.1. */
function loopbackPost(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
	if (!isLoopbackUrl(url)) return Promise.reject(new Error(`refused: ${url} is not a loopback URL`))
	const target = new URL(url)
	const client = target.protocol === 'https:' ? https : http
	return new Promise((resolve, reject) => {
		const req = client.request(
			{
				host: target.hostname === '[::1]' ? '::1' : '127.0.0.1',
				port: target.port || (target.protocol === 'https:' ? 443 : 80),
				path: `${target.pathname}${target.search}`,
				method: 'POST',
				headers: { host: target.host, 'content-length': String(Buffer.byteLength(body)), ...headers },
				timeout: 10_000,
				// Loopback test servers use self-signed certificates when they use TLS at all.
				rejectUnauthorized: false,
				// A fresh connection each time: a pooled socket the receiver is closing would fail at random.
				agent: false,
			},
			(res) => {
				const chunks: Buffer[] = []
				let size = 0
				res.on('data', (chunk: Buffer) => {
					size += chunk.length
					if (size <= 64 * 1024) chunks.push(chunk)
				})
				res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
				res.on('error', reject)
			},
		)
		req.on('timeout', () => req.destroy(new Error('no answer within 10000 ms')))
		req.on('error', reject)
		req.end(body)
	})
}

/** Stripe's error answer, thrown inside a route and written by the handler. */
class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly error: { type: string; message: string; param?: string; code?: string },
	) {
		super(error.message)
	}
}

function invalid(message: string, param?: string, code?: string) {
	return new ApiError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}) })
}

function noSuch(kind: string, id: string, param = 'id') {
	return new ApiError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${kind}: '${id}'`, param })
}

function rejectUnknown(params: Params, allowed: ReadonlySet<string>) {
	for (const key of Object.keys(params))
		if (!allowed.has(key)) throw invalid(`Received unknown parameter: ${key}`, key, 'parameter_unknown')
}

function optionalString(params: Params, key: string, param = key): string | null {
	const value = params[key]
	if (value === undefined || value === '') return null
	if (typeof value !== 'string') throw invalid(`Invalid string: ${param}`, param)
	return value
}

function asObject(value: unknown, param: string): Params {
	if (value === undefined || value === '') return {}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`Invalid object: ${param}`, param)
	return value as Params
}

function asBoolean(value: unknown, param: string): boolean {
	if (value === undefined || value === '') return false
	if (value === 'true' || value === 'false') return value === 'true'
	throw invalid(`Invalid boolean: ${String(value)}`, param)
}

function asInteger(value: unknown, param: string, min = 0): number {
	if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw invalid(`Invalid integer: ${String(value)}`, param)
	const number = Number(value)
	if (number < min) throw invalid(`This value must be greater than or equal to ${min}.`, param)
	return number
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], param: string): T {
	if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
	throw invalid(`Invalid ${param}: must be one of ${allowed.join(', ')}`, param)
}

/** Stripe's metadata rules: up to 50 keys, keys up to 40 characters, values up to 500; an empty value unsets. */
function asMetadata(value: unknown, param: string): Metadata {
	const object = asObject(value, param)
	const entries = Object.entries(object).filter(([, v]) => v !== '')
	if (entries.length > 50)
		throw invalid(`Invalid ${param}: metadata can have up to 50 keys, but you passed in ${entries.length} keys.`, param)
	for (const [key, v] of entries) {
		if (typeof v !== 'string') throw invalid(`Invalid ${param}[${key}]: metadata values must be strings`, `${param}[${key}]`)
		if (key.length > 40) throw invalid(`Invalid ${param}: metadata keys must be at most 40 characters long.`, param)
		if (v.length > 500) throw invalid(`Invalid ${param}[${key}]: must be at most 500 characters`, `${param}[${key}]`)
	}
	return Object.fromEntries(entries) as Metadata
}

function asUrl(params: Params, key: string): string | null {
	const value = optionalString(params, key)
	if (value !== null && !URL.canParse(value.replace('{CHECKOUT_SESSION_ID}', 'x'))) throw invalid('Not a valid URL', key, 'url_invalid')
	return value
}

/** 20 % VAT on one line: inside the amount for inclusive prices, on top for exclusive ones. */
function lineTax(amount: number, behavior: FakePrice['tax_behavior'], currency: string, automaticTax: boolean) {
	if (!automaticTax) return 0
	const inclusive = behavior === 'inclusive' || (behavior === 'unspecified' && currency === 'eur')
	return inclusive ? Math.round((amount * VAT_RATE_PERCENT) / (100 + VAT_RATE_PERCENT)) : Math.round((amount * VAT_RATE_PERCENT) / 100)
}

function isExclusive(line: Line) {
	return line.price.tax_behavior === 'exclusive' || (line.price.tax_behavior === 'unspecified' && line.price.currency !== 'eur')
}

function totals(lines: Line[]) {
	const subtotal = lines.reduce((sum, line) => sum + line.amount, 0)
	const tax = lines.reduce((sum, line) => sum + line.tax, 0)
	const exclusiveTax = lines.filter(isExclusive).reduce((sum, line) => sum + line.tax, 0)
	return { subtotal, tax, total: subtotal + exclusiveTax }
}

/** A one-page PDF saying `text` (enough for a browser or a download test). */
function tinyPdf(text: string) {
	const content = `BT /F1 18 Tf 72 720 Td (${text.replace(/[()\\]/g, '')}) Tj ET`
	const objects = [
		'<< /Type /Catalog /Pages 2 0 R >>',
		'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
		'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
		`<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
		'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
	]
	let pdf = '%PDF-1.4\n'
	const offsets = objects.map((object, index) => {
		const offset = pdf.length
		pdf += `${index + 1} 0 obj\n${object}\nendobj\n`
		return offset
	})
	const xref = pdf.length
	pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`
	for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`
	pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
	return Buffer.from(pdf, 'latin1')
}

function page(title: string, body: string) {
	return `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}label{display:block;margin:.5rem 0}
input{display:block;width:100%}table{width:100%;border-collapse:collapse}td{padding:.25rem 0}button{margin-top:1rem;padding:.5rem 1.5rem}</style>
</head><body><main><p>Stripe (fake, mode test)</p><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`
}

/** The fake; start it with `startStripeFake`. */
export class StripeFake {
	/** `http://127.0.0.1:PORT`: STRIPE_API_URL. */
	readonly origin: string
	readonly secretKey: string
	readonly webhookSecret: string
	/** The version the fake stamps on events (the SDK's pinned one). */
	readonly apiVersion: string = Stripe.API_VERSION
	readonly customers = new Map<string, FakeCustomer>()
	readonly sessions = new Map<string, FakeCheckoutSession>()
	readonly subscriptions = new Map<string, FakeSubscription>()
	readonly invoices = new Map<string, FakeInvoice>()
	readonly paymentIntents = new Map<string, FakePaymentIntent>()
	readonly charges = new Map<string, FakeCharge>()
	readonly prices = new Map<string, FakePrice>()
	readonly products = new Map<string, FakeProduct>()
	readonly portalSessions = new Map<string, FakePortalSession>()
	/** Every API request received, oldest first. */
	readonly requests: SeenRequest[] = []
	/** Every event built (delivered or not), oldest first. */
	readonly events: FakeEvent[] = []
	/** Every delivery attempt once it has an outcome, oldest first. */
	readonly deliveries: StripeDelivery[] = []
	/** Failures of the fake's own work: refused or failed deliveries, crashes (never printed). */
	readonly errors: string[] = []
	webhookUrl: string | null
	eventOrder: 'session-first' | 'session-last'

	private readonly entries = new Map<string, SessionEntry>()
	private readonly answers = new Map<string, StoredAnswer>()
	private readonly invoiceCounts = new Map<string, number>()
	private readonly invoiceSequence = new Map<string, number>()
	private readonly pending = new Set<Promise<unknown>>()
	private sequence = 0
	private closed = false

	constructor(
		private readonly server: http.Server,
		port: number,
		options: StripeFakeOptions,
	) {
		this.origin = `http://127.0.0.1:${port}`
		this.secretKey = options.secretKey ?? randomId('sk_test_fake_', 32)
		this.webhookSecret = options.webhookSecret ?? `whsec_${crypto.randomBytes(24).toString('hex')}`
		this.webhookUrl = options.webhookUrl ?? null
		this.eventOrder = options.eventOrder ?? 'session-first'
	}

	/** The app's variables for this fake (merge into process.env, then `reloadEnv()`). */
	get env() {
		return { STRIPE_SECRET_KEY: this.secretKey, STRIPE_WEBHOOK_SECRET: this.webhookSecret, STRIPE_API_URL: this.origin }
	}

	/** Where events go from now on (loopback URLs only; others are refused at delivery). */
	setWebhookUrl(url: string | null) {
		this.webhookUrl = url
	}

	/** Builds a signed-to-be event of any type around `object` and (unless `deliver: false`) delivers it once. */
	async emit(
		type: string,
		object: Record<string, unknown>,
		options: { deliver?: boolean; previousAttributes?: Record<string, unknown> } = {},
	): Promise<FakeEvent> {
		const event = this.buildEvent(type, object, options.previousAttributes)
		if (options.deliver !== false) await this.deliver(event)
		return event
	}

	/** Sends an event (again): same id and body, fresh signature each time; returns the attempts. */
	async deliver(event: FakeEvent, options: DeliverOptions = {}): Promise<StripeDelivery[]> {
		const attempts: StripeDelivery[] = []
		for (let i = 0; i < (options.times ?? 1); i++) attempts.push(await this.track(this.send(event, options)))
		return attempts
	}

	/**
	 * What the « Payer » button does: completes an open session (payment, subscription, invoice),
	 * delivers its events in `eventOrder`, and gives the success URL. A completed session gives no new event.
	 */
	async completeCheckout(
		sessionId: string,
		input: CheckoutInput = {},
	): Promise<{ session: FakeCheckoutSession; events: FakeEvent[]; redirectUrl: string | null }> {
		const entry = this.entries.get(sessionId)
		if (!entry) throw new Error(`no checkout session ${sessionId}`)
		if (entry.session.status !== 'open') return { session: entry.session, events: [], redirectUrl: this.successUrl(entry.session) }
		const events = this.pay(entry, input)
		for (const event of events) await this.deliver(event)
		return { session: entry.session, events, redirectUrl: this.successUrl(entry.session) }
	}

	/** Refunds part or all of a payment: updates its charge and emits `charge.refunded` (delivered unless `deliver: false`). */
	async refund(paymentIntentId: string, amountCents: number, options: { deliver?: boolean } = {}): Promise<FakeEvent> {
		const intent = this.paymentIntents.get(paymentIntentId)
		if (!intent) throw new Error(`no payment intent ${paymentIntentId}`)
		const charge = this.charges.get(intent.latest_charge)
		if (!charge) throw new Error(`no charge for ${paymentIntentId}`)
		if (!Number.isInteger(amountCents) || amountCents < 1 || charge.amount_refunded + amountCents > charge.amount)
			throw new Error(`cannot refund ${amountCents} of ${charge.amount - charge.amount_refunded} left on ${charge.id}`)
		const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded }
		charge.amount_refunded += amountCents
		charge.refunded = charge.amount_refunded === charge.amount
		return this.emit('charge.refunded', charge, { ...options, previousAttributes: previous })
	}

	/** Ends a subscription now and emits `customer.subscription.deleted` (delivered unless `deliver: false`). */
	async cancelSubscription(subscriptionId: string, options: { deliver?: boolean } = {}): Promise<FakeEvent> {
		const subscription = this.subscriptions.get(subscriptionId)
		if (!subscription) throw new Error(`no subscription ${subscriptionId}`)
		if (subscription.status === 'canceled') throw new Error(`subscription ${subscriptionId} is already canceled`)
		this.endSubscription(subscription, 'cancellation_requested')
		return this.emit('customer.subscription.deleted', subscription, options)
	}

	/** Bills the next period of a subscription: a new paid invoice, then `invoice.paid` (delivered unless `deliver: false`). */
	async renew(subscriptionId: string, options: { deliver?: boolean } = {}): Promise<FakeEvent> {
		const subscription = this.subscriptions.get(subscriptionId)
		if (!subscription) throw new Error(`no subscription ${subscriptionId}`)
		if (subscription.status !== 'active') throw new Error(`subscription ${subscriptionId} is ${subscription.status}`)
		const customer = this.customers.get(subscription.customer)
		if (!customer) throw new Error(`no customer ${subscription.customer}`)
		const lines: Line[] = []
		const first = subscription.items.data[0]
		// The invoice's own period is the one just ended; its lines cover the one starting.
		const period = { start: first?.current_period_start ?? now(), end: first?.current_period_end ?? now() }
		for (const item of subscription.items.data) {
			const interval = item.price.recurring ?? { interval: 'month' as const, interval_count: 1 }
			item.current_period_start = item.current_period_end
			item.current_period_end = addInterval(item.current_period_start, interval.interval, interval.interval_count)
			const product = this.products.get(item.price.product)
			if (!product) throw new Error(`no product ${item.price.product}`)
			const amount = item.price.unit_amount * item.quantity
			const automaticTax = (subscription.automatic_tax as { enabled: boolean }).enabled
			lines.push({
				price: item.price,
				product,
				quantity: item.quantity,
				amount,
				tax: lineTax(amount, item.price.tax_behavior, item.price.currency, automaticTax),
			})
		}
		const invoice = this.createInvoice({
			customer,
			lines,
			automaticTax: (subscription.automatic_tax as { enabled: boolean }).enabled,
			subscription,
			billingReason: 'subscription_cycle',
			metadata: {},
			period,
			paymentIntentMetadata: {},
		})
		subscription.latest_invoice = invoice.id
		return this.emit('invoice.paid', invoice, options)
	}

	/** Resolves once background work (deliveries after a customer deletion) is done. */
	async settled() {
		while (this.pending.size > 0) await Promise.allSettled([...this.pending])
	}

	async close() {
		this.closed = true
		this.server.closeAllConnections()
		await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())))
		await this.settled()
	}

	/** The request handler (public for the server only). */
	async handle(req: http.IncomingMessage, res: http.ServerResponse) {
		const url = new URL(req.url ?? '/', this.origin)
		const raw = await readBody(req)
		const method = req.method ?? 'GET'
		if (url.pathname.startsWith('/v1/')) return this.api(req, res, method, url, raw)
		let match: RegExpExecArray | null
		if ((match = /^\/pay\/([^/]+)$/.exec(url.pathname))) {
			if (method === 'GET') return this.checkoutPage(res, match[1]!)
			if (method === 'POST') return this.checkoutSubmit(res, match[1]!, raw)
		}
		if ((match = /^\/portal\/([^/]+)$/.exec(url.pathname)) && method === 'GET') return this.portalPage(res, match[1]!)
		if ((match = /^\/portal\/([^/]+)\/cancel$/.exec(url.pathname)) && method === 'POST') return this.portalCancel(res, match[1]!, raw)
		if ((match = /^\/i\/([^/]+)$/.exec(url.pathname)) && method === 'GET') return this.invoicePage(res, match[1]!)
		if ((match = /^\/i\/([^/]+)\/pdf$/.exec(url.pathname)) && method === 'GET') return this.invoicePdf(res, match[1]!)
		return this.html(res, 404, page('Page introuvable', '<p>Cette page n’existe pas.</p>'))
	}

	// --- API ---

	private api(req: http.IncomingMessage, res: http.ServerResponse, method: string, url: URL, raw: string) {
		const params = method === 'POST' ? parseStripeForm(raw) : parseStripeForm(url.search.slice(1))
		const path = url.pathname
		this.requests.push({ method, path: `${path}${url.search}`, headers: req.headers, params, raw })
		const headers: Record<string, string> = {
			'content-type': 'application/json',
			'request-id': randomId('req_', 14),
			'stripe-version': String(req.headers['stripe-version'] ?? this.apiVersion),
		}
		const write = (status: number, body: string, extra: Record<string, string> = {}) => {
			res.writeHead(status, { ...headers, ...extra })
			res.end(body)
		}
		if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
			const given = /^Bearer (.*)$/.exec(req.headers.authorization ?? '')?.[1] ?? ''
			return write(
				401,
				JSON.stringify({
					error: {
						type: 'invalid_request_error',
						message: given ? `Invalid API Key provided: ${given.slice(0, 8)}${'*'.repeat(8)}` : 'You did not provide an API key.',
					},
				}),
			)
		}
		const key = method === 'POST' && typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null
		const fingerprint = `${method} ${path} ${raw}`
		if (key) {
			headers['idempotency-key'] = key
			const stored = this.answers.get(key)
			if (stored && stored.fingerprint !== fingerprint)
				return write(
					400,
					JSON.stringify({
						error: {
							type: 'idempotency_error',
							message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
						},
					}),
				)
			if (stored) return write(stored.status, stored.body, { 'idempotent-replayed': 'true' })
		}
		try {
			const result = JSON.stringify(this.route(method, path, params))
			// Stripe keeps the answers of requests that ran, not of those refused by validation.
			if (key) this.answers.set(key, { fingerprint, status: 200, body: result })
			write(200, result)
		} catch (error) {
			if (!(error instanceof ApiError)) throw error
			write(error.status, JSON.stringify({ error: error.error }))
		}
	}

	private route(method: string, path: string, params: Params): unknown {
		let match: RegExpExecArray | null
		if (method === 'POST' && path === '/v1/customers') return this.createCustomer(params)
		if ((match = /^\/v1\/customers\/([^/]+)$/.exec(path))) {
			if (method === 'GET') return this.found(this.customers, 'customer', match[1]!)
			if (method === 'DELETE') return this.deleteCustomer(match[1]!)
		}
		if (method === 'POST' && path === '/v1/checkout/sessions') return this.createSession(params)
		if (method === 'GET' && (match = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path))) return this.retrieveSession(match[1]!, params)
		if (method === 'POST' && path === '/v1/billing_portal/sessions') return this.createPortalSession(params)
		if (method === 'GET' && path === '/v1/invoices') return this.listInvoices(params)
		if (method === 'GET' && (match = /^\/v1\/invoices\/([^/]+)$/.exec(path))) return this.found(this.invoices, 'invoice', match[1]!)
		if (method === 'GET' && path === '/v1/subscriptions') return this.listSubscriptions(params)
		if ((match = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) {
			if (method === 'GET') return this.found(this.subscriptions, 'subscription', match[1]!)
			if (method === 'DELETE') return this.deleteSubscription(match[1]!)
		}
		if (method === 'GET' && (match = /^\/v1\/payment_intents\/([^/]+)$/.exec(path)))
			return this.found(this.paymentIntents, 'payment_intent', match[1]!)
		if (method === 'GET' && (match = /^\/v1\/charges\/([^/]+)$/.exec(path))) return this.found(this.charges, 'charge', match[1]!)
		throw new ApiError(404, {
			type: 'invalid_request_error',
			message: `Unrecognized request URL (${method}: ${path}). This fake models only the endpoints Renzo calls.`,
		})
	}

	private found<T>(map: Map<string, T>, kind: string, id: string): T {
		const value = map.get(id)
		if (!value) throw noSuch(kind, id)
		return value
	}

	private createCustomer(params: Params): FakeCustomer {
		rejectUnknown(params, CUSTOMER_PARAMS)
		const email = optionalString(params, 'email')
		if (email !== null && (email.length > 512 || !email.includes('@')))
			throw invalid('Invalid email address: ' + email, 'email', 'email_invalid')
		const locales = params.preferred_locales
		if (locales !== undefined && locales !== '' && (!Array.isArray(locales) || locales.some((l) => typeof l !== 'string')))
			throw invalid('Invalid array', 'preferred_locales')
		const address = params.address === undefined || params.address === '' ? null : this.address(asObject(params.address, 'address'))
		const customer: FakeCustomer = {
			id: randomId('cus_', 14),
			object: 'customer',
			address,
			balance: 0,
			created: now(),
			currency: null,
			default_source: null,
			delinquent: false,
			description: optionalString(params, 'description'),
			discount: null,
			email,
			invoice_prefix: randomId('', 8).toUpperCase(),
			invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
			livemode: false,
			metadata: asMetadata(params.metadata, 'metadata'),
			name: optionalString(params, 'name'),
			next_invoice_sequence: 1,
			phone: optionalString(params, 'phone'),
			preferred_locales: Array.isArray(locales) ? (locales as string[]) : [],
			shipping: null,
			tax_exempt: 'none',
			test_clock: null,
		}
		this.customers.set(customer.id, customer)
		return customer
	}

	private address(input: Params): Address {
		const field = (key: keyof Address) => (typeof input[key] === 'string' && input[key] !== '' ? (input[key] as string) : null)
		return {
			city: field('city'),
			country: field('country'),
			line1: field('line1'),
			line2: field('line2'),
			postal_code: field('postal_code'),
			state: field('state'),
		}
	}

	/** Stripe cancels a deleted customer's subscriptions at once (each with its event). */
	private deleteCustomer(id: string) {
		const customer = this.customers.get(id)
		if (!customer || customer.deleted) throw noSuch('customer', id)
		customer.deleted = true
		for (const subscription of this.subscriptions.values())
			if (subscription.customer === id && subscription.status === 'active') {
				this.endSubscription(subscription, 'cancellation_requested')
				const event = this.buildEvent('customer.subscription.deleted', subscription)
				void this.deliver(event).catch(() => undefined)
			}
		return { id, object: 'customer', deleted: true }
	}

	private deleteSubscription(id: string) {
		const subscription = this.subscriptions.get(id)
		if (!subscription) throw noSuch('subscription', id)
		if (subscription.status === 'canceled') throw invalid('A canceled subscription can only update its cancellation_details and metadata.')
		this.endSubscription(subscription, 'cancellation_requested')
		void this.deliver(this.buildEvent('customer.subscription.deleted', subscription)).catch(() => undefined)
		return subscription
	}

	private endSubscription(subscription: FakeSubscription, reason: string) {
		const at = now()
		subscription.status = 'canceled'
		subscription.canceled_at = at
		subscription.ended_at = at
		subscription.cancellation_details = { comment: null, feedback: null, reason }
	}

	private createSession(params: Params): FakeCheckoutSession {
		rejectUnknown(params, CHECKOUT_PARAMS)
		if (params.mode === undefined) throw invalid('Missing required param: mode.', 'mode', 'parameter_missing')
		if (params.mode === 'setup') throw invalid('This fake models payment and subscription modes only.', 'mode')
		const mode = oneOf(params.mode, ['payment', 'subscription'] as const, 'mode')
		const uiMode = params.ui_mode === undefined ? 'hosted_page' : String(params.ui_mode)
		if (uiMode !== 'hosted_page' && uiMode !== 'hosted') throw invalid('This fake models the hosted page only.', 'ui_mode')

		const customerId = optionalString(params, 'customer')
		const customerEmail = optionalString(params, 'customer_email')
		if (customerId && customerEmail) throw invalid('You may only specify one of these parameters: customer, customer_email.', 'customer')
		const customer = customerId ? this.customers.get(customerId) : undefined
		if (customerId && (!customer || customer.deleted)) throw noSuch('customer', customerId, 'customer')

		const customerUpdate = asObject(params.customer_update, 'customer_update')
		if (Object.keys(customerUpdate).length > 0 && !customer)
			throw invalid('`customer_update` can only be used with `customer`.', 'customer_update')
		for (const key of Object.keys(customerUpdate)) {
			if (!['name', 'address', 'shipping'].includes(key))
				throw invalid(`Received unknown parameter: customer_update[${key}]`, `customer_update[${key}]`)
			oneOf(customerUpdate[key], ['auto', 'never'] as const, `customer_update[${key}]`)
		}
		const automaticTax = asBoolean(asObject(params.automatic_tax, 'automatic_tax').enabled, 'automatic_tax[enabled]')
		const taxIdCollection = asBoolean(asObject(params.tax_id_collection, 'tax_id_collection').enabled, 'tax_id_collection[enabled]')
		// Stripe's own refusals (docs: "Collect customer tax IDs" and Stripe Tax with Checkout).
		if (taxIdCollection && customer && customerUpdate.name !== 'auto')
			throw invalid(
				'Tax ID collection requires updating business name on the customer. To enable tax ID collection for an existing customer, please set `customer_update[name]` to `auto`.',
				'tax_id_collection[enabled]',
			)
		if (automaticTax && customer && !customer.address && customerUpdate.address !== 'auto' && customerUpdate.shipping !== 'auto')
			throw invalid(
				"Automatic tax calculation in Checkout requires a valid address on the Customer. Add a valid address to the Customer or set either 'customer_update[address]' to 'auto' or 'customer_update[shipping]' to 'auto' to save the address entered in Checkout to the Customer.",
				'automatic_tax[enabled]',
			)
		if (params.billing_address_collection !== undefined)
			oneOf(params.billing_address_collection, ['auto', 'required'] as const, 'billing_address_collection')

		if (mode === 'subscription' && params.payment_intent_data !== undefined)
			throw invalid('You can not pass `payment_intent_data` in `subscription` mode.', 'payment_intent_data')
		if (mode === 'payment' && params.subscription_data !== undefined)
			throw invalid('You can not pass `subscription_data` in `payment` mode.', 'subscription_data')
		if (mode === 'subscription' && params.invoice_creation !== undefined)
			throw invalid('You can only set `invoice_creation` in `payment` mode.', 'invoice_creation')
		if (mode === 'subscription' && params.customer_creation !== undefined)
			throw invalid('`customer_creation` can only be used in `payment` and `setup` mode.', 'customer_creation')

		const lines = this.lines(params.line_items, mode, automaticTax)
		const currency = lines[0]!.price.currency
		const metadata = asMetadata(params.metadata, 'metadata')
		const subscriptionData = asObject(params.subscription_data, 'subscription_data')
		const paymentIntentData = asObject(params.payment_intent_data, 'payment_intent_data')
		const invoiceCreation = asObject(params.invoice_creation, 'invoice_creation')
		const invoiceData = asObject(invoiceCreation.invoice_data, 'invoice_creation[invoice_data]')
		const successUrl = asUrl(params, 'success_url')
		const cancelUrl = asUrl(params, 'cancel_url')
		const amounts = totals(lines)
		const created = now()
		const id = randomId(`cs_test_${mode === 'payment' ? 'a1' : 'b1'}`, 56)
		const session: FakeCheckoutSession = {
			id,
			object: 'checkout.session',
			adaptive_pricing: null,
			after_expiration: null,
			allow_promotion_codes: params.allow_promotion_codes === 'true' ? true : null,
			amount_subtotal: amounts.subtotal,
			amount_total: amounts.total,
			automatic_tax: {
				enabled: automaticTax,
				liability: automaticTax ? { type: 'self' } : null,
				provider: automaticTax ? 'stripe' : null,
				status: automaticTax ? 'requires_location_inputs' : null,
			},
			billing_address_collection: (params.billing_address_collection as string | undefined) ?? null,
			cancel_url: cancelUrl,
			client_reference_id: optionalString(params, 'client_reference_id'),
			client_secret: null,
			collected_information: null,
			consent: null,
			consent_collection: null,
			created,
			currency,
			currency_conversion: null,
			custom_fields: [],
			custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
			customer: customer?.id ?? null,
			customer_account: null,
			customer_creation: customer
				? null
				: mode === 'subscription'
					? 'always'
					: ((params.customer_creation as string | undefined) ?? 'if_required'),
			customer_details: customer
				? {
						address: customer.address,
						business_name: null,
						email: customer.email,
						individual_name: null,
						name: customer.name,
						phone: null,
						tax_exempt: 'none',
						tax_ids: null,
					}
				: customerEmail
					? {
							address: null,
							business_name: null,
							email: customerEmail,
							individual_name: null,
							name: null,
							phone: null,
							tax_exempt: 'none',
							tax_ids: null,
						}
					: null,
			customer_email: customerEmail,
			discounts: [],
			expires_at: created + 24 * 3600,
			invoice: null,
			invoice_creation:
				mode === 'payment'
					? {
							enabled: asBoolean(invoiceCreation.enabled, 'invoice_creation[enabled]'),
							invoice_data: {
								account_tax_ids: null,
								custom_fields: null,
								description: null,
								footer: null,
								issuer: null,
								metadata: asMetadata(invoiceData.metadata, 'invoice_creation[invoice_data][metadata]'),
								rendering_options: null,
							},
						}
					: null,
			livemode: false,
			locale: optionalString(params, 'locale'),
			metadata,
			mode,
			origin_context: null,
			payment_intent: null,
			payment_link: null,
			payment_method_collection: mode === 'subscription' ? 'always' : 'if_required',
			payment_method_configuration_details: null,
			payment_method_options: {},
			payment_method_types: ['card'],
			payment_status: 'unpaid',
			permissions: null,
			recovered_from: null,
			saved_payment_method_options: null,
			setup_intent: null,
			shipping_address_collection: null,
			shipping_cost: null,
			shipping_options: [],
			status: 'open',
			submit_type: null,
			subscription: null,
			success_url: successUrl,
			tax_id_collection: { enabled: taxIdCollection, required: 'never' },
			total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: amounts.tax },
			ui_mode: 'hosted_page',
			url: `${this.origin}/pay/${id}`,
			wallet_options: null,
		}
		this.sessions.set(id, session)
		this.entries.set(id, {
			session,
			lines,
			automaticTax,
			taxIdCollection,
			customerUpdate: customerUpdate as SessionEntry['customerUpdate'],
			subscriptionMetadata: asMetadata(subscriptionData.metadata, 'subscription_data[metadata]'),
			paymentIntentMetadata: asMetadata(paymentIntentData.metadata, 'payment_intent_data[metadata]'),
			invoiceCreation: {
				enabled: asBoolean(invoiceCreation.enabled, 'invoice_creation[enabled]'),
				metadata: asMetadata(invoiceData.metadata, 'invoice_creation[invoice_data][metadata]'),
			},
		})
		return session
	}

	/** line_items → prices and products (inline `price_data` creates both, as Stripe does). */
	private lines(value: unknown, mode: 'payment' | 'subscription', automaticTax: boolean): Line[] {
		if (value === undefined || value === '') throw invalid('Missing required param: line_items.', 'line_items', 'parameter_missing')
		if (!Array.isArray(value) || value.length === 0) throw invalid('Invalid array', 'line_items')
		if (value.length > 100) throw invalid('line_items must have at most 100 items.', 'line_items')
		const lines = value.map((raw, index): Line => {
			const param = `line_items[${index}]`
			const item = asObject(raw, param)
			if (item.quantity === undefined)
				throw invalid(`Quantity is required. Add \`quantity\` to \`${param}\``, `${param}[quantity]`, 'parameter_missing')
			const quantity = asInteger(item.quantity, `${param}[quantity]`, 1)
			let price: FakePrice
			if (typeof item.price === 'string') {
				const existing = this.prices.get(item.price)
				if (!existing) throw noSuch('price', item.price, `${param}[price]`)
				price = existing
			} else if (item.price_data !== undefined)
				price = this.inlinePrice(asObject(item.price_data, `${param}[price_data]`), `${param}[price_data]`)
			else throw invalid(`You must specify either \`price\` or \`price_data\` in \`${param}\`.`, param)
			const product = this.products.get(price.product)!
			const amount = price.unit_amount * quantity
			return { price, product, quantity, amount, tax: lineTax(amount, price.tax_behavior, price.currency, automaticTax) }
		})
		const currencies = new Set(lines.map((line) => line.price.currency))
		if (currencies.size > 1) throw invalid('All line items must use the same currency.', 'line_items')
		const recurring = lines.findIndex((line) => line.price.type === 'recurring')
		if (mode === 'payment' && recurring >= 0)
			throw invalid(
				'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.',
				`line_items[${recurring}]`,
			)
		if (mode === 'subscription' && recurring < 0)
			throw invalid('You must provide at least one recurring price in `subscription` mode when using prices.', 'line_items')
		return lines
	}

	private inlinePrice(data: Params, param: string): FakePrice {
		const currency = typeof data.currency === 'string' ? data.currency.toLowerCase() : ''
		if (!/^[a-z]{3}$/.test(currency))
			throw invalid(`Missing required param: ${param}[currency].`, `${param}[currency]`, 'parameter_missing')
		if (data.unit_amount === undefined)
			throw invalid(`Missing required param: ${param}[unit_amount].`, `${param}[unit_amount]`, 'parameter_missing')
		const unitAmount = asInteger(data.unit_amount, `${param}[unit_amount]`)
		const taxBehavior =
			data.tax_behavior === undefined
				? 'unspecified'
				: oneOf(data.tax_behavior, ['inclusive', 'exclusive', 'unspecified'] as const, `${param}[tax_behavior]`)
		let product: FakeProduct
		if (typeof data.product === 'string') {
			const existing = this.products.get(data.product)
			if (!existing) throw noSuch('product', data.product, `${param}[product]`)
			product = existing
		} else {
			const productData = asObject(data.product_data, `${param}[product_data]`)
			if (typeof productData.name !== 'string' || productData.name === '')
				throw invalid(`Missing required param: ${param}[product_data][name].`, `${param}[product_data][name]`, 'parameter_missing')
			product = {
				id: randomId('prod_', 14),
				object: 'product',
				active: false,
				created: now(),
				description: optionalString(productData, 'description'),
				images: [],
				livemode: false,
				metadata: asMetadata(productData.metadata, `${param}[product_data][metadata]`),
				name: productData.name,
				tax_code: optionalString(productData, 'tax_code'),
				type: 'service',
				updated: now(),
			}
			this.products.set(product.id, product)
		}
		let recurring: FakePrice['recurring'] = null
		if (data.recurring !== undefined) {
			const r = asObject(data.recurring, `${param}[recurring]`)
			recurring = {
				interval: oneOf(r.interval, ['day', 'week', 'month', 'year'] as const, `${param}[recurring][interval]`),
				interval_count: r.interval_count === undefined ? 1 : asInteger(r.interval_count, `${param}[recurring][interval_count]`, 1),
				meter: null,
				trial_period_days: null,
				usage_type: 'licensed',
			}
		}
		const price: FakePrice = {
			id: randomId('price_', 24),
			object: 'price',
			active: false,
			billing_scheme: 'per_unit',
			created: now(),
			currency,
			custom_unit_amount: null,
			livemode: false,
			lookup_key: null,
			metadata: {},
			nickname: null,
			product: product.id,
			recurring,
			tax_behavior: taxBehavior,
			tiers_mode: null,
			transform_quantity: null,
			type: recurring ? 'recurring' : 'one_time',
			unit_amount: unitAmount,
			unit_amount_decimal: String(unitAmount),
		}
		this.prices.set(price.id, price)
		return price
	}

	private retrieveSession(id: string, params: Params) {
		const entry = this.entries.get(id)
		if (!entry) throw noSuch('checkout.session', id)
		const expand = Array.isArray(params.expand) ? params.expand : []
		if (!expand.includes('line_items')) return entry.session
		return {
			...entry.session,
			line_items: {
				object: 'list',
				data: entry.lines.map((line) => ({
					id: randomId('li_', 24),
					object: 'item',
					amount_discount: 0,
					amount_subtotal: line.amount,
					amount_tax: line.tax,
					amount_total: isExclusive(line) ? line.amount + line.tax : line.amount,
					currency: line.price.currency,
					description: line.product.name,
					price: line.price,
					quantity: line.quantity,
				})),
				has_more: false,
				url: `/v1/checkout/sessions/${id}/line_items`,
			},
		}
	}

	private createPortalSession(params: Params): FakePortalSession {
		rejectUnknown(params, PORTAL_PARAMS)
		const customerId = optionalString(params, 'customer')
		if (!customerId) throw invalid('Missing required param: customer.', 'customer', 'parameter_missing')
		const customer = this.customers.get(customerId)
		if (!customer || customer.deleted) throw noSuch('customer', customerId, 'customer')
		const id = randomId('bps_', 24)
		const portal: FakePortalSession = {
			id,
			object: 'billing_portal.session',
			configuration: 'bpc_fake_default',
			created: now(),
			customer: customerId,
			customer_account: null,
			flow: null,
			livemode: false,
			locale: optionalString(params, 'locale'),
			on_behalf_of: null,
			return_url: asUrl(params, 'return_url'),
			url: `${this.origin}/portal/${id}`,
		}
		this.portalSessions.set(id, portal)
		return portal
	}

	private listInvoices(params: Params) {
		rejectUnknown(params, INVOICE_LIST_PARAMS)
		const limit = params.limit === undefined ? 10 : asInteger(params.limit, 'limit', 1)
		if (limit > 100) throw invalid('This value must be less than or equal to 100.', 'limit')
		const customer = optionalString(params, 'customer')
		const subscription = optionalString(params, 'subscription')
		const status = optionalString(params, 'status')
		let list = [...this.invoices.values()]
			.filter((invoice) => customer === null || invoice.customer === customer)
			.filter((invoice) => subscription === null || invoice.parent?.subscription_details.subscription === subscription)
			.filter((invoice) => status === null || invoice.status === status)
			.sort((a, b) => b.created - a.created || (this.invoiceSequence.get(b.id) ?? 0) - (this.invoiceSequence.get(a.id) ?? 0))
		const after = optionalString(params, 'starting_after')
		const before = optionalString(params, 'ending_before')
		if (after !== null) {
			const index = list.findIndex((invoice) => invoice.id === after)
			if (index < 0) throw noSuch('invoice', after, 'starting_after')
			list = list.slice(index + 1)
		} else if (before !== null) {
			const index = list.findIndex((invoice) => invoice.id === before)
			if (index < 0) throw noSuch('invoice', before, 'ending_before')
			list = list.slice(Math.max(0, index - limit), index)
		}
		return { object: 'list', data: list.slice(0, limit), has_more: list.length > limit, url: '/v1/invoices' }
	}

	/** Newest first; without `status`, canceled ones are left out (as Stripe does); `status=all` lists every one. */
	private listSubscriptions(params: Params) {
		rejectUnknown(params, SUBSCRIPTION_LIST_PARAMS)
		const limit = params.limit === undefined ? 10 : asInteger(params.limit, 'limit', 1)
		if (limit > 100) throw invalid('This value must be less than or equal to 100.', 'limit')
		const customer = optionalString(params, 'customer')
		if (customer !== null && !this.customers.has(customer)) throw noSuch('customer', customer, 'customer')
		const status = params.status === undefined ? null : oneOf(params.status, SUBSCRIPTION_LIST_STATUSES, 'status')
		let list = [...this.subscriptions.values()]
			.filter((subscription) => customer === null || subscription.customer === customer)
			.filter((subscription) =>
				status === null
					? subscription.status !== 'canceled'
					: status === 'all' || status === subscription.status || (status === 'ended' && subscription.status === 'canceled'),
			)
			.reverse()
		const after = optionalString(params, 'starting_after')
		if (after !== null) {
			const index = list.findIndex((subscription) => subscription.id === after)
			if (index < 0) throw noSuch('subscription', after, 'starting_after')
			list = list.slice(index + 1)
		}
		return { object: 'list', data: list.slice(0, limit), has_more: list.length > limit, url: '/v1/subscriptions' }
	}

	// --- Payments ---

	/** Completes a session (synchronously, so a double click cannot pay twice) and returns its events in delivery order. */
	private pay(entry: SessionEntry, input: CheckoutInput): FakeEvent[] {
		const { session } = entry
		const address = { ...DEFAULT_ADDRESS, ...input.address }
		let customer = session.customer ? this.customers.get(session.customer) : undefined
		const name = input.name?.trim() || customer?.name || 'Agence Test'
		const businessName = entry.taxIdCollection ? input.businessName?.trim() || null : null
		const taxIds = entry.taxIdCollection && input.taxId?.trim() ? [{ type: 'eu_vat', value: input.taxId.trim() }] : []
		const email = customer?.email ?? session.customer_email ?? 'client@example.com'
		if (!customer && session.mode === 'subscription') {
			customer = this.createCustomer({ email, name })
			session.customer = customer.id
		}
		if (customer) {
			if (entry.customerUpdate.name === 'auto') customer.name = businessName ?? name
			if (entry.customerUpdate.address === 'auto') customer.address = address
		}
		session.status = 'complete'
		session.payment_status = 'paid'
		session.url = null
		session.automatic_tax = { ...(session.automatic_tax as object), status: entry.automaticTax ? 'complete' : null }
		session.customer_details = {
			address,
			business_name: businessName,
			email,
			individual_name: null,
			name,
			phone: null,
			tax_exempt: 'none',
			tax_ids: taxIds,
		}
		session.collected_information = { business_name: businessName, individual_name: null, shipping_details: null }

		const completed = () => this.buildEvent('checkout.session.completed', session)
		if (session.mode === 'payment') {
			const intent = this.createPayment(session.amount_total, session.currency, customer ?? null, entry.paymentIntentMetadata, {
				name,
				email,
				address,
			})
			session.payment_intent = intent.id
			if (!entry.invoiceCreation.enabled || !customer) return [completed()]
			const invoice = this.createInvoice({
				customer,
				lines: entry.lines,
				automaticTax: entry.automaticTax,
				subscription: null,
				billingReason: 'manual',
				metadata: entry.invoiceCreation.metadata,
				period: { start: now(), end: now() },
				paymentIntent: intent,
			})
			session.invoice = invoice.id
			const events = [completed(), this.buildEvent('invoice.paid', invoice)]
			return this.eventOrder === 'session-first' ? events : events.reverse()
		}

		const subscriber = customer!
		const start = now()
		const subscription = this.createSubscription(subscriber, entry, start)
		const invoice = this.createInvoice({
			customer: subscriber,
			lines: entry.lines,
			automaticTax: entry.automaticTax,
			subscription,
			billingReason: 'subscription_create',
			metadata: {},
			period: { start, end: start },
			paymentIntentMetadata: {},
		})
		subscription.latest_invoice = invoice.id
		session.subscription = subscription.id
		session.invoice = invoice.id
		const events = [completed(), this.buildEvent('customer.subscription.created', subscription), this.buildEvent('invoice.paid', invoice)]
		return this.eventOrder === 'session-first' ? events : events.reverse()
	}

	private createPayment(
		amount: number,
		currency: string,
		customer: FakeCustomer | null,
		metadata: Metadata,
		billing: { name: string; email: string; address: Address },
	): FakePaymentIntent {
		const created = now()
		const intentId = randomId('pi_', 24)
		const chargeId = randomId('ch_', 24)
		const paymentMethod = randomId('pm_', 24)
		const intent: FakePaymentIntent = {
			id: intentId,
			object: 'payment_intent',
			amount,
			amount_capturable: 0,
			amount_received: amount,
			capture_method: 'automatic_async',
			client_secret: `${intentId}_secret_${randomId('', 24)}`,
			confirmation_method: 'automatic',
			created,
			currency,
			customer: customer?.id ?? null,
			description: null,
			latest_charge: chargeId,
			livemode: false,
			metadata: { ...metadata },
			payment_method: paymentMethod,
			payment_method_types: ['card'],
			status: 'succeeded',
		}
		const charge: FakeCharge = {
			id: chargeId,
			object: 'charge',
			amount,
			amount_captured: amount,
			amount_refunded: 0,
			balance_transaction: randomId('txn_', 24),
			billing_details: { address: billing.address, email: billing.email, name: billing.name, phone: null, tax_id: null },
			captured: true,
			created,
			currency,
			customer: customer?.id ?? null,
			description: null,
			disputed: false,
			failure_code: null,
			failure_message: null,
			livemode: false,
			// Stripe copies the PaymentIntent's metadata onto its charge.
			metadata: { ...metadata },
			outcome: { network_status: 'approved_by_network', risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
			paid: true,
			payment_intent: intentId,
			payment_method: paymentMethod,
			payment_method_details: {
				type: 'card',
				card: { brand: 'visa', country: 'FR', exp_month: 12, exp_year: 2034, funding: 'credit', last4: '4242' },
			},
			receipt_email: billing.email,
			receipt_url: `${this.origin}/i/${chargeId}`,
			refunded: false,
			status: 'succeeded',
		}
		this.paymentIntents.set(intentId, intent)
		this.charges.set(chargeId, charge)
		return intent
	}

	private createSubscription(customer: FakeCustomer, entry: SessionEntry, start: number): FakeSubscription {
		const id = randomId('sub_', 24)
		const items = entry.lines
			.filter((line) => line.price.recurring)
			.map((line): FakeSubscriptionItem => ({
				id: randomId('si_', 14),
				object: 'subscription_item',
				billing_thresholds: null,
				created: start,
				current_period_start: start,
				current_period_end: addInterval(start, line.price.recurring!.interval, line.price.recurring!.interval_count),
				discounts: [],
				metadata: {},
				price: line.price,
				quantity: line.quantity,
				subscription: id,
				tax_rates: [],
			}))
		const subscription: FakeSubscription = {
			id,
			object: 'subscription',
			application: null,
			automatic_tax: { enabled: entry.automaticTax, disabled_reason: null, liability: entry.automaticTax ? { type: 'self' } : null },
			billing_cycle_anchor: start,
			cancel_at: null,
			cancel_at_period_end: false,
			canceled_at: null,
			cancellation_details: { comment: null, feedback: null, reason: null },
			collection_method: 'charge_automatically',
			created: start,
			currency: entry.session.currency,
			customer: customer.id,
			days_until_due: null,
			default_payment_method: randomId('pm_', 24),
			description: null,
			discounts: [],
			ended_at: null,
			items: { object: 'list', data: items, has_more: false, total_count: items.length, url: `/v1/subscription_items?subscription=${id}` },
			latest_invoice: null,
			livemode: false,
			metadata: { ...entry.subscriptionMetadata },
			pending_update: null,
			schedule: null,
			start_date: start,
			status: 'active',
			test_clock: null,
			trial_end: null,
			trial_start: null,
		}
		this.subscriptions.set(id, subscription)
		return subscription
	}

	/** A paid invoice (and the payment behind it, unless given); subscription invoices carry the subscription's metadata. */
	private createInvoice(args: {
		customer: FakeCustomer
		lines: Line[]
		automaticTax: boolean
		subscription: FakeSubscription | null
		billingReason: FakeInvoice['billing_reason']
		metadata: Metadata
		period: { start: number; end: number }
		paymentIntent?: FakePaymentIntent
		paymentIntentMetadata?: Metadata
	}): FakeInvoice {
		const { customer, lines, subscription } = args
		const id = randomId('in_', 24)
		const created = now()
		const amounts = totals(lines)
		const currency = lines[0]?.price.currency ?? 'eur'
		const count = (this.invoiceCounts.get(customer.id) ?? 0) + 1
		this.invoiceCounts.set(customer.id, count)
		this.invoiceSequence.set(id, ++this.sequence)
		args.paymentIntent ??= this.createPayment(amounts.total, currency, customer, args.paymentIntentMetadata ?? {}, {
			name: customer.name ?? '',
			email: customer.email ?? '',
			address: customer.address ?? DEFAULT_ADDRESS,
		})
		const subscriptionMetadata = subscription ? { ...subscription.metadata } : null
		const invoiceLines = lines.map((line) => {
			const item = subscription?.items.data.find((i) => i.price.id === line.price.id)
			const interval = line.price.recurring
			return {
				id: randomId('il_', 24),
				object: 'line_item',
				amount: line.amount,
				currency,
				description: interval
					? `${line.quantity} × ${line.product.name} (at ${money(line.price.unit_amount, currency)} / ${interval.interval})`
					: line.product.name,
				discount_amounts: [],
				discountable: true,
				discounts: [],
				invoice: id,
				livemode: false,
				// Stripe: on subscription lines, metadata is the subscription's.
				metadata: item && subscriptionMetadata ? { ...subscriptionMetadata } : {},
				parent: item
					? {
							type: 'subscription_item_details',
							invoice_item_details: null,
							subscription_item_details: {
								invoice_item: null,
								proration: false,
								proration_details: { credited_items: null },
								subscription: subscription!.id,
								subscription_item: item.id,
							},
						}
					: {
							type: 'invoice_item_details',
							invoice_item_details: {
								invoice_item: randomId('ii_', 24),
								proration: false,
								proration_details: { credited_items: null },
								subscription: null,
							},
							subscription_item_details: null,
						},
				period: item ? { start: item.current_period_start, end: item.current_period_end } : { start: created, end: created },
				pretax_credit_amounts: [],
				pricing: {
					type: 'price_details',
					price_details: { price: line.price.id, product: line.product.id },
					unit_amount_decimal: line.price.unit_amount_decimal,
				},
				quantity: line.quantity,
				subtotal: line.amount,
				taxes: line.tax
					? [
							{
								amount: line.tax,
								tax_behavior: isExclusive(line) ? 'exclusive' : 'inclusive',
								tax_rate_details: { tax_rate: 'txr_fake_fr_vat_20' },
								taxability_reason: 'standard_rated',
								taxable_amount: isExclusive(line) ? line.amount : line.amount - line.tax,
								type: 'tax_rate_details',
							},
						]
					: [],
			}
		})
		const invoice: FakeInvoice = {
			id,
			object: 'invoice',
			account_country: 'FR',
			account_name: 'Renzo (fake)',
			amount_due: amounts.total,
			amount_overpaid: 0,
			amount_paid: amounts.total,
			amount_remaining: 0,
			amount_shipping: 0,
			attempt_count: 1,
			attempted: true,
			automatic_tax: {
				enabled: args.automaticTax,
				disabled_reason: null,
				liability: args.automaticTax ? { type: 'self' } : null,
				provider: args.automaticTax ? 'stripe' : null,
				status: args.automaticTax ? 'complete' : null,
			},
			billing_reason: args.billingReason,
			collection_method: 'charge_automatically',
			created,
			currency,
			customer: customer.id,
			customer_address: customer.address,
			customer_email: customer.email,
			customer_name: customer.name,
			customer_tax_exempt: 'none',
			customer_tax_ids: [],
			description: null,
			discounts: [],
			due_date: null,
			effective_at: created,
			hosted_invoice_url: `${this.origin}/i/${id}`,
			invoice_pdf: `${this.origin}/i/${id}/pdf`,
			lines: { object: 'list', data: invoiceLines, has_more: false, total_count: invoiceLines.length, url: `/v1/invoices/${id}/lines` },
			livemode: false,
			metadata: { ...args.metadata },
			number: `${customer.invoice_prefix}-${String(count).padStart(4, '0')}`,
			parent: subscription
				? {
						type: 'subscription_details',
						quote_details: null,
						subscription_details: { metadata: subscriptionMetadata!, subscription: subscription.id },
					}
				: null,
			period_end: args.period.end,
			period_start: args.period.start,
			receipt_number: null,
			status: 'paid',
			status_transitions: { finalized_at: created, marked_uncollectible_at: null, paid_at: created, voided_at: null },
			subtotal: amounts.subtotal,
			subtotal_excluding_tax: amounts.subtotal - (amounts.tax - (amounts.total - amounts.subtotal)),
			total: amounts.total,
			total_discount_amounts: [],
			total_excluding_tax: amounts.total - amounts.tax,
			total_pretax_credit_amounts: [],
			total_taxes: amounts.tax
				? [
						{
							amount: amounts.tax,
							tax_behavior: lines.some(isExclusive) ? 'exclusive' : 'inclusive',
							tax_rate_details: { tax_rate: 'txr_fake_fr_vat_20' },
							taxability_reason: 'standard_rated',
							taxable_amount: amounts.total - amounts.tax,
							type: 'tax_rate_details',
						},
					]
				: [],
			webhooks_delivered_at: created,
		}
		this.invoices.set(id, invoice)
		return invoice
	}

	// --- Events ---

	private buildEvent(type: string, object: Record<string, unknown>, previousAttributes?: Record<string, unknown>): FakeEvent {
		const event: FakeEvent = {
			id: randomId('evt_', 24),
			object: 'event',
			api_version: this.apiVersion,
			created: now(),
			data: {
				object: structuredClone(object),
				...(previousAttributes ? { previous_attributes: structuredClone(previousAttributes) } : {}),
			},
			livemode: false,
			pending_webhooks: 1,
			request: { id: null, idempotency_key: null },
			type,
		}
		this.events.push(event)
		return event
	}

	private async send(event: FakeEvent, options: DeliverOptions): Promise<StripeDelivery> {
		// Stripe sends its events pretty-printed: a receiver must verify the raw bytes, not a re-serialisation.
		const body = JSON.stringify(event, null, 2)
		const timestamp = now() + (options.timestampOffsetSeconds ?? 0)
		const signature = Stripe.webhooks.generateTestHeaderString({
			payload: body,
			secret: options.signatureSecret ?? this.webhookSecret,
			timestamp,
		})
		const headers = {
			'content-type': 'application/json; charset=utf-8',
			'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
			'stripe-signature': signature,
		}
		const url = this.webhookUrl
		const delivery: StripeDelivery = {
			eventId: event.id,
			type: event.type,
			url,
			timestamp,
			headers,
			body,
			status: null,
			responseBody: null,
			error: null,
		}
		if (this.closed) delivery.error = 'fake closed'
		else if (url === null) delivery.error = 'no webhook URL set (setWebhookUrl)'
		else if (!isLoopbackUrl(url)) delivery.error = `refused: ${url} is not a loopback URL`
		else {
			try {
				const response = await loopbackPost(url, headers, body)
				delivery.status = response.status
				delivery.responseBody = response.body
			} catch (error) {
				delivery.error = errorMessage(error)
			}
		}
		this.deliveries.push(delivery)
		if (delivery.error) this.errors.push(`event ${event.id} (${event.type}) to ${url ?? '(none)'}: ${delivery.error}`)
		return delivery
	}

	private track<T>(work: Promise<T>): Promise<T> {
		const quiet = work.catch(() => undefined)
		this.pending.add(quiet)
		void quiet.finally(() => this.pending.delete(quiet))
		return work
	}

	private successUrl(session: FakeCheckoutSession) {
		return session.success_url?.replaceAll('{CHECKOUT_SESSION_ID}', session.id) ?? null
	}

	// --- Pages ---

	private html(res: http.ServerResponse, status: number, body: string) {
		res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
		res.end(body)
	}

	private redirect(res: http.ServerResponse, location: string) {
		res.writeHead(303, { location })
		res.end()
	}

	private checkoutPage(res: http.ServerResponse, id: string) {
		const entry = this.entries.get(id)
		if (!entry) return this.html(res, 404, page('Session introuvable', '<p>Ce lien de paiement n’existe pas.</p>'))
		const { session } = entry
		if (session.status !== 'open') {
			const next = this.successUrl(session)
			return this.html(res, 200, page('Paiement déjà effectué', next ? `<p><a href="${escapeHtml(next)}">Continuer</a></p>` : ''))
		}
		const customer = session.customer ? this.customers.get(session.customer) : undefined
		const rows = entry.lines
			.map(
				(line) =>
					`<tr><td>${escapeHtml(line.product.name)}${line.quantity > 1 ? ` × ${line.quantity}` : ''}${line.price.recurring ? ` (par ${line.price.recurring.interval === 'month' ? 'mois' : line.price.recurring.interval})` : ''}</td><td>${escapeHtml(money(line.amount, line.price.currency))}</td></tr>`,
			)
			.join('')
		const field = (name: string, label: string, value = '') =>
			`<label>${escapeHtml(label)}<input name="${name}" value="${escapeHtml(value)}"></label>`
		const body = `<p>${escapeHtml(customer?.email ?? session.customer_email ?? '')}</p>
<table>${rows}<tr><td>Dont TVA</td><td>${escapeHtml(money((session.total_details as { amount_tax: number }).amount_tax, session.currency))}</td></tr>
<tr><th scope="row">Total</th><td><strong>${escapeHtml(money(session.amount_total, session.currency))}</strong></td></tr></table>
<form method="post" action="/pay/${escapeHtml(id)}">
${field('name', 'Nom', customer?.name ?? '')}
${field('line1', 'Adresse', DEFAULT_ADDRESS.line1!)}${field('postal_code', 'Code postal', DEFAULT_ADDRESS.postal_code!)}${field('city', 'Ville', DEFAULT_ADDRESS.city!)}
${entry.taxIdCollection ? `${field('business_name', 'Raison sociale')}${field('tax_id', 'Numéro de TVA')}` : ''}
<p>Carte de test : 4242 4242 4242 4242</p>
<button type="submit">Payer</button>
</form>${session.cancel_url ? `<p><a href="${escapeHtml(session.cancel_url)}">Retour</a></p>` : ''}`
		this.html(res, 200, page(session.mode === 'subscription' ? 'S’abonner' : 'Payer', body))
	}

	private async checkoutSubmit(res: http.ServerResponse, id: string, raw: string) {
		if (!this.entries.has(id)) return this.html(res, 404, page('Session introuvable', '<p>Ce lien de paiement n’existe pas.</p>'))
		const form = new URLSearchParams(raw)
		const value = (key: string) => form.get(key) ?? undefined
		const { redirectUrl } = await this.completeCheckout(id, {
			name: value('name'),
			businessName: value('business_name'),
			taxId: value('tax_id'),
			address: Object.fromEntries(['line1', 'postal_code', 'city'].filter((key) => form.get(key)).map((key) => [key, form.get(key)])),
		})
		if (redirectUrl) return this.redirect(res, redirectUrl)
		this.html(res, 200, page('Paiement réussi', '<p>Merci, votre paiement a été accepté.</p>'))
	}

	private portalPage(res: http.ServerResponse, id: string) {
		const portal = this.portalSessions.get(id)
		if (!portal) return this.html(res, 404, page('Session introuvable', '<p>Ce lien n’existe pas.</p>'))
		const subscriptions = [...this.subscriptions.values()].filter((s) => s.customer === portal.customer && s.status === 'active')
		const invoices = [...this.invoices.values()].filter((i) => i.customer === portal.customer)
		const body = `<h2>Abonnements</h2>${
			subscriptions.length === 0
				? '<p>Aucun abonnement actif.</p>'
				: subscriptions
						.map(
							(s) =>
								`<form method="post" action="/portal/${escapeHtml(id)}/cancel"><p>${escapeHtml(this.products.get(s.items.data[0]?.price.product ?? '')?.name ?? s.id)}</p><input type="hidden" name="subscription" value="${escapeHtml(s.id)}"><button type="submit">Résilier</button></form>`,
						)
						.join('')
		}<h2>Factures</h2><ul>${invoices.map((i) => `<li><a href="${escapeHtml(i.hosted_invoice_url)}">${escapeHtml(i.number)}</a> ${escapeHtml(money(i.amount_paid, i.currency))}</li>`).join('')}</ul>${
			portal.return_url ? `<p><a href="${escapeHtml(portal.return_url)}">Retour</a></p>` : ''
		}`
		this.html(res, 200, page('Votre compte de facturation', body))
	}

	private async portalCancel(res: http.ServerResponse, id: string, raw: string) {
		const portal = this.portalSessions.get(id)
		const subscriptionId = new URLSearchParams(raw).get('subscription') ?? ''
		const subscription = this.subscriptions.get(subscriptionId)
		if (!portal || !subscription || subscription.customer !== portal.customer)
			return this.html(res, 404, page('Introuvable', '<p>Cet abonnement n’existe pas.</p>'))
		if (subscription.status === 'active') await this.cancelSubscription(subscription.id)
		this.redirect(res, `/portal/${id}`)
	}

	private invoicePage(res: http.ServerResponse, id: string) {
		const invoice = this.invoices.get(id)
		const charge = this.charges.get(id)
		if (charge) return this.html(res, 200, page('Reçu', `<p>${escapeHtml(money(charge.amount, charge.currency))} — payé</p>`))
		if (!invoice) return this.html(res, 404, page('Facture introuvable', '<p>Cette facture n’existe pas.</p>'))
		this.html(
			res,
			200,
			page(
				`Facture ${invoice.number}`,
				`<p>${escapeHtml(money(invoice.amount_paid, invoice.currency))} — payée</p><p><a href="${escapeHtml(invoice.invoice_pdf)}">Télécharger le PDF</a></p>`,
			),
		)
	}

	private invoicePdf(res: http.ServerResponse, id: string) {
		const invoice = this.invoices.get(id)
		if (!invoice) return this.html(res, 404, page('Facture introuvable', '<p>Cette facture n’existe pas.</p>'))
		const pdf = tinyPdf(`Facture ${invoice.number} - ${(invoice.amount_paid / 100).toFixed(2)} ${invoice.currency.toUpperCase()}`)
		res.writeHead(200, {
			'content-type': 'application/pdf',
			'content-length': String(pdf.length),
			'content-disposition': `inline; filename="Invoice-${invoice.number}.pdf"`,
		})
		res.end(pdf)
	}
}

/** Starts the fake on 127.0.0.1 (port 0 unless given). */
export async function startStripeFake(options: StripeFakeOptions = {}): Promise<StripeFake> {
	const server = http.createServer()
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject)
		server.listen(options.port ?? 0, '127.0.0.1', resolve)
	})
	const fake = new StripeFake(server, (server.address() as AddressInfo).port, options)
	server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
		fake.handle(req, res).catch((error: unknown) => {
			fake.errors.push(errorMessage(error))
			if (res.headersSent) return res.destroy()
			res.writeHead(500, { 'content-type': 'application/json' })
			res.end(JSON.stringify({ error: { type: 'api_error', message: 'The fake failed.' } }))
		})
	})
	return fake
}
