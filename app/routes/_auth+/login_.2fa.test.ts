import crypto from 'node:crypto'
import { generate } from 'otplib'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { loader as dashboardLoader } from '#app/routes/_index.tsx'
import { action as twoFactorSettingsAction, loader as twoFactorSettingsLoader } from '#app/routes/settings+/two-factor.tsx'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { call, CookieJar, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { latestLoginEmail } from '#tests/utils/mail.ts'
import { action as loginAction } from './login.tsx'
import { action as secondFactorAction, loader as secondFactorLoader } from './login_.2fa.tsx'
import { action as verifyAction, loader as verifyLoader } from './login_.verify.tsx'

const ctx = { nonce: 'n', csrfToken: 't' }
const newIp = () => `10.${crypto.randomInt(255)}.${crypto.randomInt(255)}.${crypto.randomInt(255)}`

// Only Date is faked: codes are computed in the middle of a 30 s step, and `nextStep` moves on.
beforeEach(() => {
	vi.useFakeTimers({ toFake: ['Date'] })
	vi.setSystemTime(Math.floor(Date.now() / 30_000) * 30_000 + 15_000)
})
afterEach(() => {
	vi.useRealTimers()
	delete process.env.REQUIRE_2FA_FOR_ADMINS
	reloadEnv()
})
const nextStep = () => vi.setSystemTime(Date.now() + 30_000)

/** An account with two-factor on, set up through the settings page; returns its secret and recovery codes. */
async function userWithTwoFactor() {
	const user = await loggedInUser()
	const settings = (form: Record<string, string>) =>
		call(() => twoFactorSettingsAction({ request: makeRequest('/settings/two-factor', { jar: user.jar, form }), params: {}, context: ctx }))
	await settings({ intent: 'start' })
	const page = await call(() =>
		twoFactorSettingsLoader({ request: makeRequest('/settings/two-factor', { jar: user.jar }), params: {}, context: ctx }),
	)
	const secret = (page.data as { enrolment: { manualKey: string } }).enrolment.manualKey.replace(/\s/g, '')
	const confirmed = await settings({ intent: 'confirm', code: await generate({ secret }) })
	// The enrolment used this step: logins in these tests type codes of the next ones.
	nextStep()
	return { ...user, secret, recoveryCodes: (confirmed.data as { recoveryCodes: string[] }).recoveryCodes }
}

/** The email step, in a fresh browser: asks for the email, types the emailed code. */
async function passEmailStep(email: string, options: { redirectTo?: string } = {}) {
	const jar = new CookieJar()
	const form: Record<string, string> = { email, ...(options.redirectTo ? { redirectTo: options.redirectTo } : {}) }
	const asked = await call(() => loginAction({ request: makeRequest('/login', { form, jar, ip: newIp() }), params: {}, context: ctx }))
	jar.take(asked.response!)
	const path = asked.response!.headers.get('Location')!
	const { code } = await latestLoginEmail(email)
	const verified = await call(() => verifyAction({ request: makeRequest(path, { form: { code }, jar }), params: {}, context: ctx }))
	jar.take(verified.response!)
	return { jar, verified }
}

async function typeSecondFactor(jar: CookieJar, form: Record<string, string>, path = '/login/2fa') {
	const result = await call(() => secondFactorAction({ request: makeRequest(path, { form, jar }), params: {}, context: ctx }))
	if (result.response) jar.take(result.response)
	return result
}

const dashboard = (jar: CookieJar) => call(() => dashboardLoader({ request: makeRequest('/', { jar }), params: {}, context: ctx }))
const pendingPage = (jar: CookieJar) =>
	call(() => secondFactorLoader({ request: makeRequest('/login/2fa', { jar }), params: {}, context: ctx }))
const wrongCode = async (secret: string) => ((await generate({ secret })) === '000000' ? '111111' : '000000')

describe('login with two-factor', () => {
	test('the emailed code leads to the authenticator step; the session exists only after it', async () => {
		const me = await userWithTwoFactor()
		const sessionsBefore = await privileged().session.count({ where: { userId: me.id, secondFactorPending: false } })
		const { jar, verified } = await passEmailStep(me.email, { redirectTo: '/projects' })
		expect(verified.response?.headers.get('Location')).toBe('/login/2fa?redirectTo=%2Fprojects')
		expect(jar.get('__session')).toBeUndefined()
		expect(jar.get('__2fa')).toBeTruthy()
		expect((await dashboard(jar)).response?.headers.get('Location')).toBe('/login')
		expect(await privileged().session.count({ where: { userId: me.id, secondFactorPending: false } })).toBe(sessionsBefore)
		expect((await pendingPage(jar)).data).toEqual({ pending: true })

		expect((await typeSecondFactor(jar, { code: '12a' })).data).toMatchObject({ error: 'twoFactor.error.codeFormat' })
		const done = await typeSecondFactor(jar, { code: await generate({ secret: me.secret }) }, '/login/2fa?redirectTo=%2Fprojects')
		expect(done.status).toBe(302)
		expect(done.response?.headers.get('Location')).toBe('/projects')
		expect(jar.get('__session')).toBeTruthy()
		expect(jar.get('__2fa')).toBeUndefined()
		expect((await dashboard(jar)).status).toBe(200)
		// The step is gone: nothing pending, and the settings page lists real sessions only.
		expect(await privileged().session.count({ where: { userId: me.id, secondFactorPending: true } })).toBe(0)
		expect(await privileged().auditEvent.count({ where: { userId: me.id, type: 'login.succeeded' } })).toBe(1)
	})

	test('the magic link leads to the same step', async () => {
		const me = await userWithTwoFactor()
		const jar = new CookieJar()
		const asked = await call(() =>
			loginAction({ request: makeRequest('/login', { form: { email: me.email }, jar, ip: newIp() }), params: {}, context: ctx }),
		)
		jar.take(asked.response!)
		const { link } = await latestLoginEmail(me.email)
		const opened = await call(() =>
			verifyLoader({ request: makeRequest(`${link.pathname}${link.search}`, { jar }), params: {}, context: ctx }),
		)
		jar.take(opened.response!)
		expect(opened.response?.headers.get('Location')).toBe('/login/2fa')
		expect(jar.get('__session')).toBeUndefined()
		expect((await typeSecondFactor(jar, { code: await generate({ secret: me.secret }) })).status).toBe(302)
		expect((await dashboard(jar)).status).toBe(200)
	})

	test('a code already used in its window is refused; the next one works', async () => {
		const me = await userWithTwoFactor()
		const code = await generate({ secret: me.secret })
		const first = await passEmailStep(me.email)
		expect((await typeSecondFactor(first.jar, { code })).status).toBe(302)
		const second = await passEmailStep(me.email)
		const reused = await typeSecondFactor(second.jar, { code })
		expect(reused.status).toBe(400)
		expect(reused.data).toMatchObject({ error: 'twoFactor.error.reusedCode' })
		expect(second.jar.get('__session')).toBeUndefined()
		nextStep()
		expect((await typeSecondFactor(second.jar, { code: await generate({ secret: me.secret }) })).status).toBe(302)
	})

	test('a recovery code logs in once', async () => {
		const me = await userWithTwoFactor()
		const [recovery] = me.recoveryCodes
		const first = await passEmailStep(me.email)
		const used = await typeSecondFactor(first.jar, { recoveryCode: ` ${recovery!.toUpperCase()} ` })
		expect(used.status).toBe(302)
		expect((await dashboard(first.jar)).status).toBe(200)
		expect(await privileged().recoveryCode.count({ where: { userId: me.id, usedAt: null } })).toBe(9)

		const second = await passEmailStep(me.email)
		const again = await typeSecondFactor(second.jar, { recoveryCode: recovery! })
		expect(again.data).toMatchObject({ error: 'twoFactor.error.invalidCode', recovery: true })
		expect(second.jar.get('__session')).toBeUndefined()
		// Another, unused one still works.
		expect((await typeSecondFactor(second.jar, { recoveryCode: me.recoveryCodes[1]! })).status).toBe(302)
	})

	test('five wrong codes lock the account’s second factor, even for the right code, and close the step', async () => {
		const me = await userWithTwoFactor()
		const { jar } = await passEmailStep(me.email)
		const wrong = await wrongCode(me.secret)
		const results = []
		for (let i = 0; i < 5; i++) results.push(await typeSecondFactor(jar, { code: wrong }))
		expect(results.slice(0, 4).map((r) => r.data)).toEqual(
			[4, 3, 2, 1].map((remaining) =>
				expect.objectContaining({
					error: remaining === 1 ? 'twoFactor.error.invalidCodeLast' : 'twoFactor.error.invalidCode',
				}),
			),
		)
		expect(results[4]!.status).toBe(429)
		expect(results[4]!.data).toMatchObject({ error: 'twoFactor.error.locked' })
		const right = await typeSecondFactor(jar, { code: await generate({ secret: me.secret }) })
		expect(right.data).toMatchObject({ error: expect.stringMatching(/locked|expired/) })
		expect(jar.get('__session')).toBeUndefined()
		expect((await pendingPage(jar)).data).toEqual({ pending: false })

		// A new email does not reset the count: still locked, recovery codes included.
		const forms: Record<string, string>[] = [{ code: await generate({ secret: me.secret }) }, { recoveryCode: me.recoveryCodes[0]! }]
		for (const form of forms) {
			const again = await passEmailStep(me.email)
			expect((await typeSecondFactor(again.jar, form)).status).toBe(429)
			expect(again.jar.get('__session')).toBeUndefined()
		}
		expect(await privileged().recoveryCode.count({ where: { userId: me.id, usedAt: null } })).toBe(10)
		expect(await privileged().auditEvent.count({ where: { userId: me.id, type: 'login.locked' } })).toBe(1)
	})

	test('another user’s pending step cannot be used, and a pending step is never a session', async () => {
		const alice = await userWithTwoFactor()
		const bob = await userWithTwoFactor()
		const bobs = await passEmailStep(bob.email)
		// Alice's valid code does not complete Bob's step.
		const crossed = await typeSecondFactor(bobs.jar, { code: await generate({ secret: alice.secret }) })
		expect(crossed.data).toMatchObject({ error: expect.stringMatching(/invalidCode|reusedCode/) })
		expect(bobs.jar.get('__session')).toBeUndefined()
		// Bob's step cookie used as a session cookie opens nothing.
		const smuggled = new CookieJar()
		smuggled.set('__session', bobs.jar.get('__2fa')!)
		expect((await dashboard(smuggled)).response?.headers.get('Location')).toBe('/login')
		// A forged or tampered step cookie is no step at all.
		const forged = new CookieJar()
		forged.set(
			'__2fa',
			bobs.jar.get('__2fa')!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
		)
		expect((await pendingPage(forged)).data).toEqual({ pending: false })
		expect((await typeSecondFactor(forged, { code: await generate({ secret: bob.secret }) })).data).toMatchObject({
			error: 'twoFactor.error.expired',
		})
		// An expired step is refused too.
		const late = await passEmailStep(bob.email)
		await privileged().session.updateMany({
			where: { userId: bob.id, secondFactorPending: true },
			data: { expiresAt: new Date(Date.now() - 1000) },
		})
		expect((await typeSecondFactor(late.jar, { code: await generate({ secret: bob.secret }) })).data).toMatchObject({
			error: 'twoFactor.error.expired',
		})
		// Bob, in his own browser, with his code: in. And the step cannot be replayed afterwards.
		const fresh = await passEmailStep(bob.email)
		const stepCookie = fresh.jar.get('__2fa')!
		expect((await typeSecondFactor(fresh.jar, { code: await generate({ secret: bob.secret }) })).status).toBe(302)
		nextStep()
		const replay = new CookieJar()
		replay.set('__2fa', stepCookie)
		expect((await typeSecondFactor(replay, { code: await generate({ secret: bob.secret }) })).data).toMatchObject({
			error: 'twoFactor.error.expired',
		})
		expect(replay.get('__session')).toBeUndefined()
	})

	test('REQUIRE_2FA_FOR_ADMINS: an admin without two-factor lands on the set-up page after login', async () => {
		process.env.REQUIRE_2FA_FOR_ADMINS = 'true'
		reloadEnv()
		const admin = await loggedInUser()
		await privileged().user.update({ where: { id: admin.id }, data: { role: 'admin' } })
		const { jar, verified } = await passEmailStep(admin.email, { redirectTo: '/projects' })
		expect(verified.response?.headers.get('Location')).toBe('/settings/two-factor')
		expect((await dashboard(jar)).response?.headers.get('Location')).toBe('/settings/two-factor')
		// An agent is not concerned.
		const agent = await loggedInUser()
		expect((await passEmailStep(agent.email)).verified.response?.headers.get('Location')).toBe('/')
	})
})
