import { afterAll, describe, expect, test } from 'vitest'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { startStripeFake, type StripeFake } from '#tests/fakes/stripe.ts'
import { startAppServer } from '#tests/utils/app-server.ts'
import { call, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { startWorker } from '#worker/start.ts'
import { action as creditsAction, loader as creditsLoader } from './credits.tsx'
import { loader as invoicesLoader } from './credits_.invoices.tsx'
import { loader as thanksLoader } from './credits_.thanks.tsx'
import { action as stripeWebhook } from './webhooks+/stripe.ts'
import { until } from '#tests/utils/until.ts'

// Billing through the real routes: the Stripe fake over HTTP, the app's webhook route served over
// HTTP (the fake posts signed events there), the stripe-event job run by the real worker code.

const ctx = { nonce: '', csrfToken: '' }
let fake: StripeFake | undefined
let app: Awaited<ReturnType<typeof startAppServer>> | undefined
let worker: Awaited<ReturnType<typeof startWorker>> | undefined

afterAll(async () => {
	await worker?.stop(5_000)
	await fake?.close()
	await app?.close()
})

const balanceOf = async (userId: string) => (await privileged().user.findUniqueOrThrow({ where: { id: userId } })).creditBalance

describe('without Stripe keys (embedded default)', () => {
	test('the pages say payments are not configured; buying is refused; the webhook answers 503', async () => {
		const me = await loggedInUser()
		const page = await call(() => creditsLoader({ request: makeRequest('/credits', { jar: me.jar }), params: {}, context: ctx }))
		expect((page.data as { configured: boolean; balance: number }).configured).toBe(false)
		const bought = await call(() =>
			creditsAction({
				request: makeRequest('/credits', { jar: me.jar, form: { intent: 'buy-pack', packId: 'decouverte' } }),
				params: {},
				context: ctx,
			}),
		)
		expect(bought.status).toBe(302)
		expect(bought.response!.headers.get('Location')).toBe('/credits')
		expect(await privileged().purchase.count({ where: { userId: me.id } })).toBe(0)
		const invoices = await call(() =>
			invoicesLoader({ request: makeRequest('/credits/invoices', { jar: me.jar }), params: {}, context: ctx }),
		)
		expect((invoices.data as { configured: boolean }).configured).toBe(false)
		const webhook = await stripeWebhook({
			request: new Request('http://localhost:3000/webhooks/stripe', { method: 'POST', body: '{}' }),
			params: {},
			context: ctx,
		})
		expect(webhook.status).toBe(503)
	})
})

describe('with Stripe (the fake)', () => {
	test('buying a pack: checkout → hosted page → signed webhook → job → credits granted once; invoice listed', async () => {
		app = await startAppServer([{ method: 'POST', pattern: /^\/webhooks\/stripe$/, handler: stripeWebhook }])
		fake = await startStripeFake({ webhookUrl: `${app.url}/webhooks/stripe` })
		Object.assign(process.env, fake.env, { APP_URL: app.url })
		reloadEnv()
		worker = await startWorker({ queues: ['stripe-event'] })

		const me = await loggedInUser()
		const before = await balanceOf(me.id)
		const buy = () =>
			call(() =>
				creditsAction({
					request: makeRequest('/credits', { jar: me.jar, form: { intent: 'buy-pack', packId: 'decouverte' } }),
					params: {},
					context: ctx,
				}),
			)
		const first = await buy()
		expect(first.status).toBe(303)
		const payUrl = first.response!.headers.get('Location')!
		expect(payUrl.startsWith(`${fake.origin}/pay/cs_`)).toBe(true)
		// A second checkout reuses the same Stripe customer.
		await buy()
		expect(fake.customers.size).toBe(1)
		const user = await privileged().user.findUniqueOrThrow({ where: { id: me.id }, select: { stripeCustomerId: true } })
		expect(user.stripeCustomerId).toBe([...fake.customers.keys()][0])
		const sessionId = payUrl.split('/pay/')[1]!
		const purchase = await privileged().purchase.findUniqueOrThrow({ where: { stripeCheckoutSessionId: sessionId } })
		expect(purchase).toMatchObject({ status: 'pending', credits: 20, amountCents: 1900, packId: 'decouverte' })
		const created = fake.requests.find((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions')
		expect(created?.params).toMatchObject({ mode: 'payment', automatic_tax: { enabled: 'true' }, tax_id_collection: { enabled: 'true' } })

		const paid = await fake.completeCheckout(sessionId, {
			name: 'Agence du Port',
			businessName: 'Agence du Port SARL',
			taxId: 'FR40303265045',
		})
		expect(paid.redirectUrl).toBe(`${app.url}/credits/thanks?session=${sessionId}`)
		await until(
			'the grant',
			() => balanceOf(me.id),
			(balance) => balance === before + 20,
		)
		// Stripe redelivers: still one grant.
		for (const event of paid.events) await fake.deliver(event, { times: 2 })
		await fake.settled()
		await until(
			'the jobs',
			async () => privileged().webhookEvent.count({ where: { provider: 'stripe', processedAt: null } }),
			(n) => n === 0,
		)
		expect(await balanceOf(me.id)).toBe(before + 20)
		expect(await privileged().creditLedger.count({ where: { userId: me.id, reason: 'purchase' } })).toBe(1)

		const thanks = await call(() =>
			thanksLoader({ request: makeRequest(`/credits/thanks?session=${sessionId}`, { jar: me.jar }), params: {}, context: ctx }),
		)
		expect((thanks.data as { purchase: { status: string; credits: number } }).purchase).toEqual({
			kind: 'pack',
			credits: 20,
			status: 'paid',
		})
		// Another user with the same session id sees nothing of it.
		const other = await loggedInUser()
		const theirs = await call(() =>
			thanksLoader({ request: makeRequest(`/credits/thanks?session=${sessionId}`, { jar: other.jar }), params: {}, context: ctx }),
		)
		expect((theirs.data as { purchase: unknown }).purchase).toBeNull()

		const invoices = await call(() =>
			invoicesLoader({ request: makeRequest('/credits/invoices', { jar: me.jar }), params: {}, context: ctx }),
		)
		const list = (invoices.data as { invoices: { amountCents: number; pdf: string | null; status: string }[] }).invoices
		expect(list).toHaveLength(1)
		expect(list[0]).toMatchObject({ amountCents: 1900, status: 'paid' })
		expect(list[0]!.pdf).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//)
		// The ledger row links to the invoices.
		const page = await call(() => creditsLoader({ request: makeRequest('/credits', { jar: me.jar }), params: {}, context: ctx }))
		const movements = (page.data as { movements: { reason: string; link: { to: string } | null }[] }).movements
		expect(movements.find((m) => m.reason === 'purchase')?.link?.to).toBe('/credits/invoices')
	})

	test('the webhook route refuses a bad signature, a stale and a future timestamp with 400, storing nothing', async () => {
		expect(fake && app).toBeTruthy()
		const event = await fake!.emit('customer.created', { id: 'cus_unrelated', object: 'customer' }, { deliver: false })
		const before = await privileged().webhookEvent.count()
		const refused = [
			...(await fake!.deliver(event, { signatureSecret: 'whsec_wrong' })),
			...(await fake!.deliver(event, { timestampOffsetSeconds: -6 * 60 })),
			...(await fake!.deliver(event, { timestampOffsetSeconds: 6 * 60 })),
		]
		expect(refused.map((d) => d.status)).toEqual([400, 400, 400])
		expect(await privileged().webhookEvent.count()).toBe(before)
		const accepted = await fake!.deliver(event)
		expect(accepted.map((d) => d.status)).toEqual([200])
		expect(await privileged().webhookEvent.count()).toBe(before + 1)
	})
})
