import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Stripe from 'stripe'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { reloadEnv } from '#app/utils/env.server.ts'
import { isLoopbackUrl, parseStripeForm, startStripeFake, type FakeEvent, type StripeFake } from '#tests/fakes/stripe.ts'
import { BillingNotConfiguredError, constructStripeEvent, getStripe, isBillingConfigured, StripeSignatureError } from './stripe.server.ts'

type Received = { signature: string | null; rawBody: string }

/** Stands in for the app's webhook route: keeps each raw body and its signature, answers 200. */
async function startReceiver() {
	const received: Received[] = []
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = []
		req.on('data', (chunk: Buffer) => chunks.push(chunk))
		req.on('end', () => {
			const signature = req.headers['stripe-signature']
			received.push({ signature: typeof signature === 'string' ? signature : null, rawBody: Buffer.concat(chunks).toString('utf8') })
			res.writeHead(200, { 'content-type': 'application/json' })
			res.end('{"received":true}')
		})
	})
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
	return {
		origin,
		url: `${origin}/webhooks/stripe`,
		received,
		close: () => {
			server.closeAllConnections()
			return new Promise<void>((resolve) => server.close(() => resolve()))
		},
	}
}

const STRIPE_VARIABLES = ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_API_URL', 'APP_URL'] as const
const saved = Object.fromEntries(STRIPE_VARIABLES.map((name) => [name, process.env[name]]))

let fake: StripeFake
let receiver: Awaited<ReturnType<typeof startReceiver>>

function configure(values: Partial<Record<(typeof STRIPE_VARIABLES)[number], string>>) {
	for (const name of STRIPE_VARIABLES) {
		const value = values[name]
		if (value === undefined) delete process.env[name]
		else process.env[name] = value
	}
	reloadEnv()
}

beforeAll(async () => {
	fake = await startStripeFake()
	receiver = await startReceiver()
	fake.setWebhookUrl(receiver.url)
})

beforeEach(() => {
	configure({ ...fake.env, APP_URL: receiver.origin })
	receiver.received.length = 0
})

afterEach(async () => {
	await fake.settled()
	// Refused or failed deliveries, crashes inside the fake: none expected unless a test clears them.
	expect(fake.errors).toEqual([])
})

afterAll(async () => {
	await fake.close()
	await receiver.close()
	for (const name of STRIPE_VARIABLES) {
		if (saved[name] === undefined) delete process.env[name]
		else process.env[name] = saved[name]
	}
	reloadEnv()
})

/** Every event the receiver got, verified as the webhook route does. */
function receivedEvents() {
	return receiver.received.map((delivery) => constructStripeEvent(delivery.rawBody, delivery.signature))
}

async function createCustomer(userId = 'user_1') {
	return getStripe().customers.create(
		{ email: `${userId}@agence.test`, preferred_locales: ['fr'], metadata: { userId } },
		{ idempotencyKey: `customer:${userId}:${Math.random()}` },
	)
}

const taxOptions = {
	automatic_tax: { enabled: true },
	tax_id_collection: { enabled: true },
	customer_update: { name: 'auto', address: 'auto' },
	billing_address_collection: 'required',
} satisfies Partial<Stripe.Checkout.SessionCreateParams>

async function packSession(customer: string) {
	const metadata = { userId: 'user_1', kind: 'pack', packId: 'agence', credits: '100' }
	return getStripe().checkout.sessions.create({
		mode: 'payment',
		customer,
		locale: 'fr',
		line_items: [
			{
				quantity: 1,
				price_data: {
					currency: 'eur',
					unit_amount: 7900,
					tax_behavior: 'inclusive',
					product_data: { name: 'Renzo — Agence (100 crédits)' },
				},
			},
		],
		metadata,
		payment_intent_data: { metadata },
		invoice_creation: { enabled: true },
		...taxOptions,
		success_url: `${receiver.origin}/credits/thanks?session={CHECKOUT_SESSION_ID}`,
		cancel_url: `${receiver.origin}/credits?annule=1`,
	})
}

async function planSession(customer: string) {
	return getStripe().checkout.sessions.create({
		mode: 'subscription',
		customer,
		line_items: [
			{
				quantity: 1,
				price_data: {
					currency: 'eur',
					unit_amount: 2900,
					tax_behavior: 'inclusive',
					recurring: { interval: 'month' },
					product_data: { name: 'Renzo — Solo (40 crédits / mois)' },
				},
			},
		],
		metadata: { userId: 'user_1', kind: 'plan', planId: 'solo' },
		subscription_data: { metadata: { userId: 'user_1', planId: 'solo' } },
		...taxOptions,
		success_url: `${receiver.origin}/credits/thanks?session={CHECKOUT_SESSION_ID}`,
		cancel_url: `${receiver.origin}/credits?annule=1`,
	})
}

/** Clicks « Payer » on the hosted page (a form POST, as a browser sends it); returns the redirect. */
async function pay(url: string, form: Record<string, string> = {}) {
	const response = await fetch(url, {
		method: 'POST',
		body: new URLSearchParams(form),
		redirect: 'manual',
	})
	return { status: response.status, location: response.headers.get('location') }
}

async function rejection(promise: Promise<unknown>) {
	try {
		await promise
	} catch (error) {
		return error
	}
	throw new Error('expected a rejection')
}

function thrown(work: () => unknown) {
	try {
		work()
	} catch (error) {
		return error
	}
	throw new Error('expected an exception')
}

describe('configuration', () => {
	test('billing is configured only with both secrets', () => {
		expect(isBillingConfigured({ STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x' })).toBe(true)
		expect(isBillingConfigured({ STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: undefined })).toBe(false)
		expect(isBillingConfigured({ STRIPE_SECRET_KEY: undefined, STRIPE_WEBHOOK_SECRET: 'whsec_x' })).toBe(false)
		expect(isBillingConfigured()).toBe(true)
	})

	test('getStripe and constructStripeEvent refuse to work unconfigured', () => {
		configure({ STRIPE_WEBHOOK_SECRET: fake.webhookSecret })
		expect(thrown(() => getStripe())).toBeInstanceOf(BillingNotConfiguredError)
		configure({ STRIPE_SECRET_KEY: fake.secretKey })
		expect(thrown(() => getStripe())).toBeInstanceOf(BillingNotConfiguredError)
		expect(thrown(() => constructStripeEvent('{}', 't=1,v1=x'))).toBeInstanceOf(BillingNotConfiguredError)
	})

	test('the client is cached per configuration and targets STRIPE_API_URL', () => {
		const client = getStripe()
		expect(getStripe()).toBe(client)
		expect(client.getApiField('host')).toBe('127.0.0.1')
		expect(client.getApiField('protocol')).toBe('http')
		expect(Number(client.getApiField('port'))).toBe(Number(new URL(fake.origin).port))
		expect(client.getApiField('version')).toBe(Stripe.API_VERSION)
		expect(client.getMaxNetworkRetries()).toBe(2)
		expect(client.getApiField('timeout')).toBe(20_000)
		configure({ ...fake.env, STRIPE_API_URL: 'http://127.0.0.1:1' })
		expect(getStripe()).not.toBe(client)
		configure({ ...fake.env, STRIPE_API_URL: 'https://api.stripe.com' })
		expect(getStripe().getApiField('port')).toBe(443)
		configure({ ...fake.env, STRIPE_API_URL: 'http://127.0.0.1:1/v1' })
		expect(thrown(() => getStripe())).toBeInstanceOf(Error)
	})
})

describe('API through the fake', () => {
	test('requests are form-encoded, authenticated, version-pinned, and POSTs carry an Idempotency-Key', async () => {
		fake.requests.length = 0
		await getStripe().customers.create({ email: 'a@agence.test', metadata: { userId: 'u1' } })
		const [request] = fake.requests
		expect(request).toMatchObject({ method: 'POST', path: '/v1/customers' })
		expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded')
		expect(request?.headers.authorization).toBe(`Bearer ${fake.secretKey}`)
		expect(request?.headers['stripe-version']).toBe(Stripe.API_VERSION)
		expect(request?.headers['idempotency-key']).toMatch(/^stripe-node-retry-/)
		expect(request?.params).toEqual({ email: 'a@agence.test', metadata: { userId: 'u1' } })
	})

	test('the same idempotency key twice gives one customer; other parameters with it are refused', async () => {
		const before = fake.customers.size
		const params = { email: 'same@agence.test', preferred_locales: ['fr'], metadata: { userId: 'user_same' } }
		const first = await getStripe().customers.create(params, { idempotencyKey: 'customer:user_same' })
		const second = await getStripe().customers.create(params, { idempotencyKey: 'customer:user_same' })
		expect(second.id).toBe(first.id)
		expect(fake.customers.size).toBe(before + 1)
		expect(first).toMatchObject({ id: expect.stringMatching(/^cus_/), email: 'same@agence.test', metadata: { userId: 'user_same' } })
		expect((second as unknown as { lastResponse: { headers: Record<string, string> } }).lastResponse.headers['idempotent-replayed']).toBe(
			'true',
		)
		const error = await rejection(
			getStripe().customers.create({ ...params, email: 'other@agence.test' }, { idempotencyKey: 'customer:user_same' }),
		)
		expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError)
		expect(await getStripe().customers.retrieve(first.id)).toMatchObject({ id: first.id, email: 'same@agence.test' })
	})

	test('a wrong key is a 401 authentication error', async () => {
		const other = new Stripe('sk_test_wrong', {
			host: '127.0.0.1',
			port: new URL(fake.origin).port,
			protocol: 'http',
			maxNetworkRetries: 0,
		})
		const error = await rejection(other.customers.create({ email: 'x@agence.test' }))
		expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError)
	})

	test('an unknown customer is a 404 resource_missing', async () => {
		const error = await rejection(getStripe().customers.retrieve('cus_missing'))
		expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError)
		expect(error).toMatchObject({ code: 'resource_missing', statusCode: 404 })
	})

	test('a payment-mode checkout session: hosted URL, amounts, metadata, retrievable', async () => {
		const customer = await createCustomer()
		const session = await packSession(customer.id)
		expect(session).toMatchObject({
			id: expect.stringMatching(/^cs_test_/),
			object: 'checkout.session',
			mode: 'payment',
			status: 'open',
			payment_status: 'unpaid',
			customer: customer.id,
			currency: 'eur',
			amount_total: 7900,
			total_details: { amount_tax: 1317 },
			metadata: { userId: 'user_1', kind: 'pack', packId: 'agence', credits: '100' },
			url: `${fake.origin}/pay/${session.id}`,
		})
		const body = fake.requests.findLast((r) => r.path === '/v1/checkout/sessions')?.params
		expect(body).toMatchObject({
			line_items: [
				{ quantity: '1', price_data: { currency: 'eur', unit_amount: '7900', product_data: { name: 'Renzo — Agence (100 crédits)' } } },
			],
			payment_intent_data: { metadata: { packId: 'agence' } },
			customer_update: { name: 'auto', address: 'auto' },
			tax_id_collection: { enabled: 'true' },
		})
		const retrieved = await getStripe().checkout.sessions.retrieve(session.id, { expand: ['line_items'] })
		expect(retrieved.line_items?.data).toEqual([
			expect.objectContaining({ amount_total: 7900, amount_tax: 1317, description: 'Renzo — Agence (100 crédits)', quantity: 1 }),
		])
	})

	test('a subscription-mode checkout session', async () => {
		const customer = await createCustomer()
		const session = await planSession(customer.id)
		expect(session).toMatchObject({ mode: 'subscription', amount_total: 2900, subscription: null, url: `${fake.origin}/pay/${session.id}` })
	})

	test('requests Stripe refuses are refused with its error shape', async () => {
		const customer = await createCustomer()
		const base = {
			customer: customer.id,
			success_url: `${receiver.origin}/ok`,
			line_items: [{ quantity: 1, price_data: { currency: 'eur', unit_amount: 100, product_data: { name: 'x' } } }],
		}
		const cases: [Stripe.Checkout.SessionCreateParams, string | undefined, RegExp][] = [
			[{ ...base, mode: 'payment', tax_id_collection: { enabled: true } }, 'tax_id_collection[enabled]', /customer_update\[name\]/],
			[{ ...base, mode: 'payment', automatic_tax: { enabled: true } }, 'automatic_tax[enabled]', /valid address/],
			[{ ...base, mode: 'subscription' }, 'line_items', /at least one recurring price/],
			[
				{
					...base,
					mode: 'payment',
					line_items: [
						{
							quantity: 1,
							price_data: { currency: 'eur', unit_amount: 100, recurring: { interval: 'month' }, product_data: { name: 'x' } },
						},
					],
				},
				'line_items[0]',
				/recurring price/,
			],
			[{ ...base, mode: 'payment', subscription_data: { metadata: { a: 'b' } } }, 'subscription_data', /subscription_data/],
			[{ ...base, mode: 'payment', customer_email: 'a@b.test' }, 'customer', /only specify one/],
			[
				{ ...base, mode: 'payment', line_items: [{ price_data: { currency: 'eur', unit_amount: 100, product_data: { name: 'x' } } }] },
				'line_items[0][quantity]',
				/Quantity is required/,
			],
		]
		for (const [params, param, message] of cases) {
			const error = await rejection(getStripe().checkout.sessions.create(params))
			expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError)
			expect(error).toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 400, param, message: expect.stringMatching(message) })
		}
	})

	test('billing portal session: a page of the fake that returns to the app', async () => {
		const customer = await createCustomer()
		const portal = await getStripe().billingPortal.sessions.create({
			customer: customer.id,
			return_url: `${receiver.origin}/credits`,
			locale: 'fr',
		})
		expect(portal).toMatchObject({
			object: 'billing_portal.session',
			customer: customer.id,
			url: expect.stringMatching(`^${fake.origin}/portal/bps_`),
		})
		const page = await fetch(portal.url)
		expect(page.status).toBe(200)
		expect(await page.text()).toContain(`${receiver.origin}/credits`)
	})
})

describe('hosted checkout and webhooks', () => {
	test('paying a pack redirects to success_url after delivering signed events the adapter verifies', async () => {
		const customer = await createCustomer()
		const session = await packSession(customer.id)
		const page = await fetch(session.url!)
		const html = await page.text()
		expect(html).toContain('<button type="submit">Payer</button>')
		expect(html).toContain(`action="/pay/${session.id}"`)

		const result = await pay(session.url!, { name: 'Agence du Port', business_name: 'Agence du Port SARL', tax_id: 'FR12345678901' })
		expect(result).toEqual({ status: 303, location: `${receiver.origin}/credits/thanks?session=${session.id}` })

		const events = receivedEvents()
		expect(events.map((e) => e.type)).toEqual(['checkout.session.completed', 'invoice.paid'])
		const completed = events[0]!
		expect(completed).toMatchObject({
			id: expect.stringMatching(/^evt_/),
			object: 'event',
			livemode: false,
			api_version: Stripe.API_VERSION,
		})
		if (completed.type !== 'checkout.session.completed') throw new Error('unexpected event')
		const paid = completed.data.object
		expect(paid).toMatchObject({
			id: session.id,
			mode: 'payment',
			status: 'complete',
			payment_status: 'paid',
			customer: customer.id,
			amount_total: 7900,
			metadata: { userId: 'user_1', packId: 'agence', credits: '100' },
			payment_intent: expect.stringMatching(/^pi_/),
			invoice: expect.stringMatching(/^in_/),
			customer_details: { business_name: 'Agence du Port SARL', tax_ids: [{ type: 'eu_vat', value: 'FR12345678901' }] },
		})
		// The pack's invoice (invoice_creation) has no subscription parent: a plan handler must skip it.
		const invoiceEvent = events[1]!
		if (invoiceEvent.type !== 'invoice.paid') throw new Error('unexpected event')
		expect(invoiceEvent.data.object).toMatchObject({ parent: null, billing_reason: 'manual', amount_paid: 7900 })
		expect(fake.paymentIntents.get(paid.payment_intent as string)?.metadata).toEqual({
			userId: 'user_1',
			kind: 'pack',
			packId: 'agence',
			credits: '100',
		})
		// customer_update: auto saved the business name and the address.
		expect(fake.customers.get(customer.id)).toMatchObject({ name: 'Agence du Port SARL', address: { country: 'FR' } })

		// Paying again (double click, back button) neither re-delivers nor pays twice.
		expect(await pay(session.url!)).toEqual({ status: 303, location: result.location })
		expect(receiver.received).toHaveLength(2)
		expect((await getStripe().checkout.sessions.retrieve(session.id)).payment_status).toBe('paid')
	})

	test('paying a plan: session, subscription and first invoice carry the plan metadata', async () => {
		const customer = await createCustomer()
		const session = await planSession(customer.id)
		expect((await pay(session.url!)).status).toBe(303)
		const events = receivedEvents()
		expect(events.map((e) => e.type)).toEqual(['checkout.session.completed', 'customer.subscription.created', 'invoice.paid'])
		const [completed, created, invoicePaid] = events
		if (
			completed?.type !== 'checkout.session.completed' ||
			created?.type !== 'customer.subscription.created' ||
			invoicePaid?.type !== 'invoice.paid'
		)
			throw new Error('unexpected events')
		const subscriptionId = completed.data.object.subscription
		expect(completed.data.object).toMatchObject({
			mode: 'subscription',
			payment_status: 'paid',
			customer: customer.id,
			metadata: { planId: 'solo' },
		})
		expect(created.data.object).toMatchObject({
			id: subscriptionId,
			status: 'active',
			customer: customer.id,
			metadata: { userId: 'user_1', planId: 'solo' },
		})
		const invoice = invoicePaid.data.object
		expect(invoice).toMatchObject({
			id: completed.data.object.invoice,
			status: 'paid',
			billing_reason: 'subscription_create',
			amount_paid: 2900,
			customer: customer.id,
			parent: {
				type: 'subscription_details',
				subscription_details: { subscription: subscriptionId, metadata: { userId: 'user_1', planId: 'solo' } },
			},
		})
		expect(invoice.lines.data[0]).toMatchObject({
			metadata: { userId: 'user_1', planId: 'solo' },
			pricing: { price_details: { price: expect.stringMatching(/^price_/) } },
			parent: { subscription_item_details: { subscription: subscriptionId } },
		})
		expect(invoice.number).toMatch(/^[A-Z0-9]{8}-0001$/)

		// A renewal: a new paid invoice with the same metadata snapshot.
		const renewal = await fake.renew(subscriptionId as string)
		const renewed = constructStripeEvent(receiver.received.at(-1)!.rawBody, receiver.received.at(-1)!.signature)
		expect(renewed.id).toBe(renewal.id)
		expect(renewed).toMatchObject({
			type: 'invoice.paid',
			data: { object: { billing_reason: 'subscription_cycle', parent: { subscription_details: { metadata: { planId: 'solo' } } } } },
		})

		// The invoices list: newest first, PDF served by the fake.
		const page = await getStripe().invoices.list({ customer: customer.id, limit: 1 })
		expect(page).toMatchObject({ object: 'list', has_more: true, data: [{ id: renewal.data.object.id }] })
		const next = await getStripe().invoices.list({ customer: customer.id, limit: 1, starting_after: page.data[0]!.id })
		expect(next).toMatchObject({ has_more: false, data: [{ id: invoice.id }] })
		const pdf = await fetch(page.data[0]!.invoice_pdf!)
		expect(pdf.headers.get('content-type')).toBe('application/pdf')
		expect((await pdf.text()).startsWith('%PDF-')).toBe(true)

		const cancelled = await fake.cancelSubscription(subscriptionId as string)
		expect(cancelled).toMatchObject({ type: 'customer.subscription.deleted', data: { object: { id: subscriptionId, status: 'canceled' } } })
		expect(receivedEvents().at(-1)?.type).toBe('customer.subscription.deleted')
	})

	test('eventOrder session-last sends the invoice and subscription before the session, as Stripe often does', async () => {
		const customer = await createCustomer()
		const session = await planSession(customer.id)
		fake.eventOrder = 'session-last'
		try {
			await fake.completeCheckout(session.id)
		} finally {
			fake.eventOrder = 'session-first'
		}
		expect(receivedEvents().map((e) => e.type)).toEqual(['invoice.paid', 'customer.subscription.created', 'checkout.session.completed'])
	})

	test('a refund emits charge.refunded on the payment intent', async () => {
		const customer = await createCustomer()
		const session = await packSession(customer.id)
		const { session: paid } = await fake.completeCheckout(session.id)
		const event = await fake.refund(paid.payment_intent!, 7900)
		const verified = constructStripeEvent(receiver.received.at(-1)!.rawBody, receiver.received.at(-1)!.signature)
		expect(verified.id).toBe(event.id)
		expect(verified).toMatchObject({
			type: 'charge.refunded',
			data: {
				object: {
					payment_intent: paid.payment_intent,
					amount: 7900,
					amount_refunded: 7900,
					refunded: true,
					metadata: { packId: 'agence' },
				},
				previous_attributes: { amount_refunded: 0, refunded: false },
			},
		})
	})

	test('a redelivered event keeps its id; the raw body is pretty-printed as Stripe sends it', async () => {
		const event = await fake.emit(
			'checkout.session.completed',
			{ id: 'cs_test_manual', object: 'checkout.session', metadata: {} },
			{ deliver: false },
		)
		expect(receiver.received).toHaveLength(0)
		const attempts = await fake.deliver(event, { times: 2 })
		expect(attempts.map((a) => a.status)).toEqual([200, 200])
		expect(receivedEvents().map((e) => e.id)).toEqual([event.id, event.id])
		expect(receiver.received[0]!.rawBody).toContain('\n  "id": ')
		expect(fake.deliveries.filter((d) => d.eventId === event.id)).toHaveLength(2)
	})
})

describe('webhook signatures', () => {
	let event: FakeEvent

	beforeEach(async () => {
		event = await fake.emit('invoice.paid', { id: 'in_manual', object: 'invoice' }, { deliver: false })
	})

	test('a signature made with another secret is refused', async () => {
		await fake.deliver(event, { signatureSecret: 'whsec_not_the_right_one' })
		const [delivery] = receiver.received
		expect(thrown(() => constructStripeEvent(delivery!.rawBody, delivery!.signature))).toBeInstanceOf(StripeSignatureError)
	})

	test('a six-minute-old signature is refused (300 s tolerance); a four-minute-old one passes', async () => {
		await fake.deliver(event, { timestampOffsetSeconds: -360 })
		await fake.deliver(event, { timestampOffsetSeconds: -240 })
		const [stale, recent] = receiver.received
		const error = thrown(() => constructStripeEvent(stale!.rawBody, stale!.signature))
		expect(error).toBeInstanceOf(StripeSignatureError)
		expect((error as Error).message).toMatch(/tolerance/)
		expect(constructStripeEvent(recent!.rawBody, recent!.signature).id).toBe(event.id)
	})

	test('a missing or empty header is refused', async () => {
		await fake.deliver(event)
		const [delivery] = receiver.received
		expect(thrown(() => constructStripeEvent(delivery!.rawBody, null))).toBeInstanceOf(StripeSignatureError)
		expect(thrown(() => constructStripeEvent(delivery!.rawBody, ''))).toBeInstanceOf(StripeSignatureError)
		expect(thrown(() => constructStripeEvent(delivery!.rawBody, 'garbage'))).toBeInstanceOf(StripeSignatureError)
	})

	test('a body changed after signing is refused; the raw bytes as a Buffer pass', async () => {
		await fake.deliver(event)
		const [delivery] = receiver.received
		const reserialised = JSON.stringify(JSON.parse(delivery!.rawBody))
		expect(thrown(() => constructStripeEvent(reserialised, delivery!.signature))).toBeInstanceOf(StripeSignatureError)
		expect(constructStripeEvent(Buffer.from(delivery!.rawBody), delivery!.signature).id).toBe(event.id)
	})
})

describe('the fake', () => {
	test.each([
		['http://127.0.0.1:3000/webhooks/stripe', true],
		['https://localhost/webhooks/stripe', true],
		['http://[::1]:8080/x', true],
		['http://example.com/webhooks/stripe', false],
		['https://api.stripe.com/', false],
		['http://127.0.0.2/x', false],
		['http://localhost.example.com/x', false],
		['http://10.0.0.1/x', false],
		['ftp://127.0.0.1/x', false],
		['file:///etc/passwd', false],
		['not a url', false],
	])('isLoopbackUrl(%s) is %s', (url, allowed) => {
		expect(isLoopbackUrl(url)).toBe(allowed)
	})

	test('a non-loopback webhook URL is refused without a connection', async () => {
		fake.setWebhookUrl('https://example.com/webhooks/stripe')
		try {
			const event = await fake.emit('invoice.paid', { id: 'in_x', object: 'invoice' })
			expect(fake.deliveries.at(-1)).toMatchObject({ eventId: event.id, status: null, error: expect.stringMatching(/^refused/) })
			expect(fake.errors).toHaveLength(1)
		} finally {
			fake.setWebhookUrl(receiver.url)
			fake.errors.length = 0
		}
	})

	test('the form decoder reads the SDK encoding', () => {
		expect(parseStripeForm('a[b][0][c]=1&a[b][1][c]=2&metadata[0]=x&e=%C3%A9+f')).toEqual({
			a: { b: [{ c: '1' }, { c: '2' }] },
			metadata: { 0: 'x' },
			e: 'é f',
		})
	})
})
