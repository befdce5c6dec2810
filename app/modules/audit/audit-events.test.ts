import crypto from 'node:crypto'
import { generate } from 'otplib'
import Stripe from 'stripe'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { action as secondFactorAction } from '#app/routes/_auth+/login_.2fa.tsx'
import { action as loginAction } from '#app/routes/_auth+/login.tsx'
import { action as verifyAction } from '#app/routes/_auth+/login_.verify.tsx'
import { loader as exportDownload } from '#app/routes/settings+/export_.$exportId.ts'
import { action as settingsAction } from '#app/routes/settings+/index.tsx'
import { action as twoFactorAction, loader as twoFactorLoader } from '#app/routes/settings+/two-factor.tsx'
import { action as replicateWebhook } from '#app/routes/webhooks+/replicate.ts'
import { action as stripeWebhook } from '#app/routes/webhooks+/stripe.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { call, CookieJar, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { latestLoginEmail } from '#tests/utils/mail.ts'

// The security events each place emits, and what they never hold (secrets, raw IP, email).
const ctx = { nonce: '', csrfToken: '' }
const STRIPE_WEBHOOK_SECRET = 'whsec_test_audit'
const REPLICATE_WEBHOOK_SECRET = `whsec_${crypto.randomBytes(32).toString('base64')}`
const newIp = () => `10.${crypto.randomInt(255)}.${crypto.randomInt(255)}.${crypto.randomInt(255)}`

beforeAll(() => {
	// Nothing here calls Stripe or Replicate: the routes only need to know their secrets.
	Object.assign(process.env, {
		STRIPE_SECRET_KEY: 'sk_test_audit',
		STRIPE_WEBHOOK_SECRET,
		STRIPE_API_URL: 'http://127.0.0.1:9',
		REPLICATE_API_TOKEN: 'r8_test_token',
		REPLICATE_BASE_URL: 'http://127.0.0.1:9/v1',
		REPLICATE_WEBHOOK_SECRET,
	})
	reloadEnv()
})
afterAll(() => {
	for (const name of [
		'STRIPE_SECRET_KEY',
		'STRIPE_WEBHOOK_SECRET',
		'STRIPE_API_URL',
		'REPLICATE_API_TOKEN',
		'REPLICATE_BASE_URL',
		'REPLICATE_WEBHOOK_SECRET',
	])
		delete process.env[name]
	reloadEnv()
})
// Only Date is faked: codes are computed in the middle of a 30 s step, and `nextStep` moves on.
beforeEach(() => {
	vi.useFakeTimers({ toFake: ['Date'] })
	vi.setSystemTime(Math.floor(Date.now() / 30_000) * 30_000 + 15_000)
})
afterEach(() => vi.useRealTimers())
const nextStep = () => vi.setSystemTime(Date.now() + 30_000)

const eventsOf = (userId: string) =>
	privileged().auditEvent.findMany({ where: { userId }, orderBy: { createdAt: 'asc' }, select: { type: true, data: true, ipHash: true } })

const twoFactor = (jar: CookieJar, form: Record<string, string>, ip?: string) =>
	call(() => twoFactorAction({ request: makeRequest('/settings/two-factor', { jar, form, ip }), params: {}, context: ctx }))

describe('audit events', () => {
	test('two-factor: turned on, wrong code, new recovery codes, a recovery code at login, turned off', async () => {
		const me = await loggedInUser()
		const ip = '203.0.113.50'
		await twoFactor(me.jar, { intent: 'start' })
		const page = await call(() =>
			twoFactorLoader({ request: makeRequest('/settings/two-factor', { jar: me.jar }), params: {}, context: ctx }),
		)
		const secret = (page.data as { enrolment: { manualKey: string } }).enrolment.manualKey.replace(/\s/g, '')
		const confirmed = await twoFactor(me.jar, { intent: 'confirm', code: await generate({ secret }) }, ip)
		const recoveryCodes = (confirmed.data as { recoveryCodes: string[] }).recoveryCodes
		nextStep()
		const wrong = (await generate({ secret })) === '000000' ? '111111' : '000000'
		expect((await twoFactor(me.jar, { intent: 'regenerate', code: wrong }, ip)).status).toBe(400)
		const regenerated = await twoFactor(me.jar, { intent: 'regenerate', code: await generate({ secret }) }, ip)
		const freshCodes = (regenerated.data as { recoveryCodes: string[] }).recoveryCodes
		expect(freshCodes).not.toEqual(recoveryCodes)

		// Login with a recovery code.
		const jar = new CookieJar()
		jar.take(
			(
				await call(() =>
					loginAction({ request: makeRequest('/login', { form: { email: me.email }, jar, ip: newIp() }), params: {}, context: ctx }),
				)
			).response!,
		)
		const { code } = await latestLoginEmail(me.email)
		jar.take(
			(await call(() => verifyAction({ request: makeRequest('/login/verify', { form: { code }, jar }), params: {}, context: ctx })))
				.response!,
		)
		const recovered = await call(() =>
			secondFactorAction({
				request: makeRequest('/login/2fa', { form: { recoveryCode: freshCodes[0]! }, jar, ip }),
				params: {},
				context: ctx,
			}),
		)
		expect(recovered.status).toBe(302)

		nextStep()
		expect((await twoFactor(me.jar, { intent: 'disable', code: await generate({ secret }) }, ip)).status).toBe(302)

		const events = await eventsOf(me.id)
		const twoFactorEvents = events.filter((e) => e.type.startsWith('two_factor.'))
		expect(twoFactorEvents.map(({ type, data }) => ({ type, data }))).toEqual([
			{ type: 'two_factor.enabled', data: null },
			{ type: 'two_factor.code_failed', data: { factor: 'second', reason: 'invalid_code' } },
			{ type: 'two_factor.recovery_regenerated', data: null },
			{ type: 'two_factor.recovery_used', data: { remaining: 9 } },
			{ type: 'two_factor.disabled', data: null },
		])
		expect(new Set(twoFactorEvents.map((e) => e.ipHash)).size).toBe(1)
		expect(twoFactorEvents[0]!.ipHash).toMatch(/^[0-9a-f]{32}$/)
		expect(events.find((e) => e.type === 'login.succeeded' && e.data)?.data).toEqual({ secondFactor: 'recovery' })
		// Never the secret, a code, the IP or the email.
		const stored = JSON.stringify(events)
		for (const secretValue of [secret, wrong, freshCodes[0]!, freshCodes[0]!.replace('-', ''), ip, me.email])
			expect(stored).not.toContain(secretValue)
	})

	test('an export download is recorded; someone else’s id is a 404 and records nothing', async () => {
		const me = await loggedInUser()
		const other = await loggedInUser()
		const id = crypto.randomUUID()
		await privileged().dataExport.create({
			data: { id, userId: me.id, status: 'ready', key: storageKeys.exportArchive(me.id, id), expiresAt: new Date(Date.now() + 3_600_000) },
		})
		const download = (jar: CookieJar) =>
			call(() => exportDownload({ request: makeRequest(`/settings/export/${id}`, { jar }), params: { exportId: id }, context: ctx }))
		expect((await download(me.jar)).status).toBe(302)
		expect((await download(other.jar)).status).toBe(404)
		const downloads = await privileged().auditEvent.findMany({
			where: { type: 'gdpr.export_downloaded' },
			select: { userId: true, data: true },
		})
		expect(downloads).toEqual([{ userId: me.id, data: { exportId: id } }])
	})

	test('session revocations say how many sessions were closed', async () => {
		const me = await loggedInUser()
		// A second device.
		const { createUserSession } = await import('#app/modules/auth/session.server.ts')
		await createUserSession(me.id, makeRequest('/login/verify'))
		const revoked = await call(() =>
			settingsAction({ request: makeRequest('/settings', { jar: me.jar, form: { intent: 'logout-others' } }), params: {}, context: ctx }),
		)
		expect(revoked.status).toBe(302)
		const events = await eventsOf(me.id)
		expect(events.filter((e) => e.type.startsWith('session.revoked')).map(({ type, data }) => ({ type, data }))).toEqual([
			{ type: 'session.revoked_others', data: { count: 1 } },
		])
	})

	test('webhook signature failures: no user, provider and reason only (never the payload), a few rows per IP at most', async () => {
		const ip = newIp()
		const payload = JSON.stringify({ id: 'evt_secret_payload', type: 'checkout.session.completed', customer_email: 'client@exemple.fr' })
		const post = (action: typeof stripeWebhook, path: string, headers: Record<string, string>, body = payload) => {
			const request = makeRequest(path, { ip })
			return call(() =>
				action({
					request: new Request(request.url, { method: 'POST', headers: { ...Object.fromEntries(request.headers), ...headers }, body }),
					params: {},
					context: ctx,
				}),
			)
		}
		const forged = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_not_ours' })
		expect((await post(stripeWebhook, '/webhooks/stripe', { 'stripe-signature': forged })).status).toBe(400)
		expect((await post(stripeWebhook, '/webhooks/stripe', {})).status).toBe(400)
		const timestamp = Math.floor(Date.now() / 1000)
		const badReplicate = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': 'v1,AAAA' }
		expect((await post(replicateWebhook, '/webhooks/replicate', badReplicate)).status).toBe(401)
		const failures = await privileged().auditEvent.findMany({
			where: { type: 'webhook.signature_failed' },
			orderBy: { createdAt: 'asc' },
			select: { userId: true, data: true, ipHash: true },
		})
		expect(failures.map(({ userId, data }) => ({ userId, data }))).toEqual([
			{ userId: null, data: { provider: 'stripe', reason: 'signature' } },
			{ userId: null, data: { provider: 'stripe', reason: 'missing_signature' } },
			{ userId: null, data: { provider: 'replicate', reason: 'signature' } },
		])
		expect(JSON.stringify(failures)).not.toMatch(/evt_secret_payload|client@exemple\.fr|whsec|10\.\d+\.\d+\.\d+/)

		// A flood of forged calls from one address writes a bounded number of rows.
		for (let i = 0; i < 15; i++) await post(stripeWebhook, '/webhooks/stripe', { 'stripe-signature': forged })
		expect(await privileged().auditEvent.count({ where: { type: 'webhook.signature_failed' } })).toBe(10)
	})
})
