import { generate } from 'otplib'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { loader as dashboardLoader } from '#app/routes/_index.tsx'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { call, makeRequest, type CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { action, loader } from './two-factor.tsx'
import { loader as settingsLoader } from './index.tsx'

const ctx = { nonce: 'n', csrfToken: 't' }

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

const post = (jar: CookieJar, form: Record<string, string>) =>
	call(() => action({ request: makeRequest('/settings/two-factor', { jar, form }), params: {}, context: ctx }))
const page = (jar: CookieJar) => call(() => loader({ request: makeRequest('/settings/two-factor', { jar }), params: {}, context: ctx }))
const dashboard = (jar: CookieJar) => call(() => dashboardLoader({ request: makeRequest('/', { jar }), params: {}, context: ctx }))

type Page = {
	enabledAt: Date | null
	recoveryCodesLeft: number
	enrolment: { qrCode: string; manualKey: string } | null
	required: boolean
}

/** Starts an enrolment from the settings page and reads the secret the way a user would (the manual key). */
async function startEnrolment(jar: CookieJar) {
	const started = await post(jar, { intent: 'start' })
	expect(started.response?.headers.get('Location')).toBe('/settings/two-factor')
	const { enrolment } = (await page(jar)).data as Page
	expect(enrolment).not.toBeNull()
	return enrolment!.manualKey.replace(/\s/g, '')
}

async function enrol(jar: CookieJar) {
	const secret = await startEnrolment(jar)
	const confirmed = await post(jar, { intent: 'confirm', code: await generate({ secret }) })
	expect(confirmed.status).toBe(200)
	return { secret, recoveryCodes: (confirmed.data as { recoveryCodes: string[] }).recoveryCodes }
}

describe('two-factor settings', () => {
	test('enrolment: QR code and key, confirmed by a current code; the secret is sealed and the 10 recovery codes hashed', async () => {
		const me = await loggedInUser()
		const secret = await startEnrolment(me.jar)
		const pending = (await page(me.jar)).data as Page
		expect(pending.enabledAt).toBeNull()
		expect(pending.enrolment!.qrCode).toMatch(/^data:image\/svg\+xml;base64,/)
		expect(Buffer.from(pending.enrolment!.qrCode.split(',')[1]!, 'base64').toString()).toMatch(/^<svg/)

		const stored = await privileged().user.findUniqueOrThrow({ where: { id: me.id } })
		expect(stored.totpSecret).toBeTruthy()
		expect(stored.totpSecret).not.toContain(secret)
		expect(stored.totpEnabledAt).toBeNull()

		const confirmed = await post(me.jar, { intent: 'confirm', code: await generate({ secret }) })
		const { recoveryCodes } = confirmed.data as { recoveryCodes: string[] }
		expect(recoveryCodes).toHaveLength(10)
		expect(new Set(recoveryCodes).size).toBe(10)
		for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/)

		const after = (await page(me.jar)).data as Page
		expect(after).toMatchObject({ recoveryCodesLeft: 10, enrolment: null })
		expect(after.enabledAt).toBeTruthy()
		// Shown once: the page itself never carries the codes or the secret again.
		expect(JSON.stringify(after)).not.toContain(recoveryCodes[0]!)
		expect(JSON.stringify(after)).not.toContain(secret)
		const rows = await privileged().recoveryCode.findMany({ where: { userId: me.id } })
		expect(rows).toHaveLength(10)
		for (const code of recoveryCodes) {
			expect(rows.some((r) => r.codeHash.includes(code) || r.codeHash.includes(code.replace('-', '')))).toBe(false)
		}
		const settings = await call(() => settingsLoader({ request: makeRequest('/settings', { jar: me.jar }), params: {}, context: ctx }))
		expect(settings.data).toMatchObject({ twoFactor: true })
		// Starting again while it is on does not replace the secret.
		await post(me.jar, { intent: 'start' })
		expect((await privileged().user.findUniqueOrThrow({ where: { id: me.id } })).totpSecret).toBe(stored.totpSecret)
	})

	test('a wrong or malformed confirmation code keeps two-factor off', async () => {
		const me = await loggedInUser()
		const secret = await startEnrolment(me.jar)
		const right = await generate({ secret })
		const wrong = right === '000000' ? '111111' : '000000'
		const refused = await post(me.jar, { intent: 'confirm', code: wrong })
		expect(refused.status).toBe(400)
		expect(refused.data).toMatchObject({ intent: 'confirm', error: 'twoFactor.error.invalidCode', vars: { remaining: 4 } })
		expect((await post(me.jar, { intent: 'confirm', code: '12ab' })).data).toMatchObject({ error: 'twoFactor.error.codeFormat' })
		const user = await privileged().user.findUniqueOrThrow({ where: { id: me.id } })
		expect(user.totpEnabledAt).toBeNull()
		expect(await privileged().recoveryCode.count({ where: { userId: me.id } })).toBe(0)
		// A code from a secret that was replaced (restarted enrolment) does not activate the new one.
		const newSecret = await startEnrolment(me.jar)
		expect(newSecret).not.toBe(secret)
		nextStep()
		const old = await generate({ secret })
		if (old !== (await generate({ secret: newSecret })))
			expect((await post(me.jar, { intent: 'confirm', code: old })).data).toMatchObject({ error: 'twoFactor.error.invalidCode' })
		// Cancel forgets the pending secret.
		await post(me.jar, { intent: 'cancel' })
		expect((await privileged().user.findUniqueOrThrow({ where: { id: me.id } })).totpSecret).toBeNull()
	})

	test('recovery codes are regenerated with a current code; the old ones stop working, a reused code is refused', async () => {
		const me = await loggedInUser()
		const { secret, recoveryCodes } = await enrol(me.jar)
		// The code that confirmed the enrolment cannot be used again in its window.
		const reused = await post(me.jar, { intent: 'regenerate', code: await generate({ secret }) })
		expect(reused.data).toMatchObject({ intent: 'regenerate', error: 'twoFactor.error.reusedCode' })
		nextStep()
		const regenerated = await post(me.jar, { intent: 'regenerate', code: await generate({ secret }) })
		const fresh = (regenerated.data as { recoveryCodes: string[] }).recoveryCodes
		expect(fresh).toHaveLength(10)
		expect(fresh.some((c) => recoveryCodes.includes(c))).toBe(false)
		// An old recovery code no longer disables; a new one does.
		expect((await post(me.jar, { intent: 'disable', code: recoveryCodes[0]! })).data).toMatchObject({
			error: 'twoFactor.error.invalidCode',
		})
		const disabled = await post(me.jar, { intent: 'disable', code: fresh[0]!.toUpperCase() })
		expect(disabled.response?.headers.get('Location')).toBe('/settings')
	})

	test('disabling requires a current code or a recovery code, then clears everything', async () => {
		const me = await loggedInUser()
		const { secret } = await enrol(me.jar)
		nextStep()
		const right = await generate({ secret })
		const wrong = right === '000000' ? '111111' : '000000'
		expect((await post(me.jar, { intent: 'disable' })).data).toMatchObject({ intent: 'disable', error: 'twoFactor.error.codeFormat' })
		expect((await post(me.jar, { intent: 'disable', code: wrong })).status).toBe(400)
		expect((await privileged().user.findUniqueOrThrow({ where: { id: me.id } })).totpEnabledAt).not.toBeNull()

		const disabled = await post(me.jar, { intent: 'disable', code: right })
		expect(disabled.status).toBe(302)
		expect(disabled.response?.headers.get('Location')).toBe('/settings')
		const user = await privileged().user.findUniqueOrThrow({ where: { id: me.id } })
		expect(user).toMatchObject({ totpSecret: null, totpEnabledAt: null, totpLastUsedStep: null })
		expect(await privileged().recoveryCode.count({ where: { userId: me.id } })).toBe(0)
		expect((await page(me.jar)).data).toMatchObject({ enabledAt: null, enrolment: null })
	})

	test('wrong codes lock the settings checks too, even for the right code', async () => {
		const me = await loggedInUser()
		const { secret } = await enrol(me.jar)
		nextStep()
		const right = await generate({ secret })
		const wrong = right === '000000' ? '111111' : '000000'
		const statuses = []
		for (let i = 0; i < 5; i++) statuses.push((await post(me.jar, { intent: 'disable', code: wrong })).data)
		expect(statuses.at(-1)).toMatchObject({ error: 'twoFactor.error.locked' })
		const locked = await post(me.jar, { intent: 'disable', code: right })
		expect(locked.status).toBe(429)
		expect((await privileged().user.findUniqueOrThrow({ where: { id: me.id } })).totpEnabledAt).not.toBeNull()
	})

	test('REQUIRE_2FA_FOR_ADMINS: an admin without two-factor is sent to set it up first, and cannot turn it off', async () => {
		process.env.REQUIRE_2FA_FOR_ADMINS = 'true'
		reloadEnv()
		const admin = await loggedInUser()
		await privileged().user.update({ where: { id: admin.id }, data: { role: 'admin' } })
		const agent = await loggedInUser()

		expect((await dashboard(admin.jar)).response?.headers.get('Location')).toBe('/settings/two-factor')
		expect((await dashboard(agent.jar)).status).toBe(200)
		expect((await page(admin.jar)).data).toMatchObject({ required: true, enabledAt: null })

		const { secret, recoveryCodes } = await enrol(admin.jar)
		expect((await dashboard(admin.jar)).status).toBe(200)
		nextStep()
		const refused = await post(admin.jar, { intent: 'disable', code: await generate({ secret }) })
		expect(refused.data).toMatchObject({ error: 'twoFactor.error.required' })
		expect((await post(admin.jar, { intent: 'disable', code: recoveryCodes[0]! })).data).toMatchObject({
			error: 'twoFactor.error.required',
		})
		expect((await privileged().user.findUniqueOrThrow({ where: { id: admin.id } })).totpEnabledAt).not.toBeNull()

		// Flag off (the default): admins are free.
		delete process.env.REQUIRE_2FA_FOR_ADMINS
		reloadEnv()
		const other = await loggedInUser()
		await privileged().user.update({ where: { id: other.id }, data: { role: 'admin' } })
		expect((await dashboard(other.jar)).status).toBe(200)
	})
})
