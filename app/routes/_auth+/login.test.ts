import crypto from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { loader as rootLoader } from '#app/root.tsx'
import { loader as dashboardLoader } from '#app/routes/_index.tsx'
import { privileged } from '#app/utils/db.server.ts'
import { call, CookieJar, makeRequest } from '#tests/utils/http.ts'
import { latestLoginEmail, queuedEmailsTo } from '#tests/utils/mail.ts'
import { action as loginAction } from './login.tsx'
import { action as verifyAction, loader as verifyLoader } from './login_.verify.tsx'

const newEmail = () => `agent.${crypto.randomBytes(4).toString('hex')}@agence-exemple.fr`
const newIp = () => `10.${crypto.randomInt(255)}.${crypto.randomInt(255)}.${crypto.randomInt(255)}`

async function askForEmail(email: string, jar = new CookieJar(), ip = newIp()) {
	const result = await call(() =>
		loginAction({ request: makeRequest('/login', { form: { email }, jar, ip }), params: {}, context: {} as never }),
	)
	if (result.response) jar.take(result.response)
	return { result, jar, ip }
}

async function typeCode(code: string, jar: CookieJar) {
	const result = await call(() =>
		verifyAction({ request: makeRequest('/login/verify', { form: { code }, jar }), params: {}, context: {} as never }),
	)
	if (result.response) jar.take(result.response)
	return result
}

async function openLink(link: URL, jar: CookieJar) {
	const result = await call(() =>
		verifyLoader({ request: makeRequest(`${link.pathname}${link.search}`, { jar }), params: {}, context: {} as never }),
	)
	if (result.response) jar.take(result.response)
	return result
}

async function dashboard(jar: CookieJar) {
	return call(() => dashboardLoader({ request: makeRequest('/', { jar }), params: {}, context: {} as never }))
}

describe('login by email code and link', () => {
	test('the code logs in, creates the account once with the welcome bonus, and is single use', async () => {
		const email = newEmail()
		const { result, jar } = await askForEmail(email.toUpperCase())
		expect(result.status).toBe(302)
		expect(result.response!.headers.get('Location')).toBe('/login/verify')
		const emails = await queuedEmailsTo(email)
		expect(emails).toHaveLength(1)
		expect(emails[0]!.subject).toMatch(/^Votre code de connexion Renzo : \d{6}$/)
		const { code } = await latestLoginEmail(email)

		const verified = await typeCode(code, jar)
		expect(verified.status).toBe(302)
		expect(jar.get('__session')).toBeTruthy()
		const home = await dashboard(jar)
		expect(home.data).toMatchObject({ balance: 5 })

		// Single use: the same code again (even from a new request for the same browser) fails.
		const again = await typeCode(code, jar)
		expect(again.status).toBe(400)
		expect(again.data).toMatchObject({ error: 'login.error.expired' })

		// Logging in again does not grant the bonus twice.
		const second = await askForEmail(email)
		await typeCode((await latestLoginEmail(email)).code, second.jar)
		const user = await privileged().user.findUniqueOrThrow({ where: { email }, include: { ledger: true } })
		expect(user.creditBalance).toBe(5)
		expect(user.ledger.filter((row) => row.reason === 'welcome_bonus')).toHaveLength(1)
		expect(await privileged().user.count({ where: { email } })).toBe(1)
	})

	test('a malformed email is refused in French and writes nothing', async () => {
		const before = { verifications: await privileged().loginVerification.count(), users: await privileged().user.count() }
		for (const bad of ['', 'pas-un-email', 'a@b', 'x'.repeat(300) + '@exemple.fr', "robert'); DROP TABLE users;--@x"]) {
			const { result } = await askForEmail(bad)
			expect(result.status, bad).toBe(400)
			expect(result.data, bad).toMatchObject({ error: 'login.error.email' })
		}
		expect(await privileged().loginVerification.count()).toBe(before.verifications)
		expect(await privileged().user.count()).toBe(before.users)
	})

	test('an unknown code, a badly formatted code and no pending login are refused', async () => {
		const email = newEmail()
		const { jar } = await askForEmail(email)
		const { code } = await latestLoginEmail(email)
		const wrong = code === '000000' ? '111111' : '000000'
		expect((await typeCode('12ab', jar)).data).toMatchObject({ error: 'login.error.codeFormat' })
		const refused = await typeCode(wrong, jar)
		expect(refused.status).toBe(400)
		expect(refused.data).toMatchObject({ error: 'login.error.invalidCode', vars: { remaining: 4 } })
		// A browser with no pending login cannot type codes at all.
		expect((await typeCode(code, new CookieJar())).data).toMatchObject({ error: 'login.error.expired' })
		// The right code still works after one mistake.
		expect((await typeCode(code, jar)).status).toBe(302)
	})

	test('an expired code is refused', async () => {
		const email = newEmail()
		const { jar } = await askForEmail(email)
		const { code } = await latestLoginEmail(email)
		await privileged().loginVerification.updateMany({ where: { email }, data: { expiresAt: new Date(Date.now() - 1000) } })
		expect((await typeCode(code, jar)).data).toMatchObject({ error: 'login.error.expired' })
		expect(jar.get('__session')).toBeUndefined()
	})

	test('too many wrong codes lock the verification, even for the right code', async () => {
		const email = newEmail()
		const { jar } = await askForEmail(email)
		const { code } = await latestLoginEmail(email)
		const wrong = code === '000000' ? '111111' : '000000'
		const remaining = []
		for (let i = 0; i < 5; i++) remaining.push((await typeCode(wrong, jar)).data)
		expect(remaining.at(-1)).toMatchObject({ error: 'login.error.locked' })
		const locked = await typeCode(code, jar)
		expect(locked.data).toMatchObject({ error: 'login.error.locked' })
		expect(jar.get('__session')).toBeUndefined()
		expect(await privileged().auditEvent.count({ where: { type: 'login.locked' } })).toBeGreaterThan(0)
	})

	test('the magic link logs in once, in the browser that asked', async () => {
		const email = newEmail()
		const { jar } = await askForEmail(email)
		const { link } = await latestLoginEmail(email)
		const opened = await openLink(link, jar)
		expect(opened.status).toBe(302)
		expect(jar.get('__session')).toBeTruthy()
		// Reused link: refused.
		const reused = await openLink(link, new CookieJar())
		expect(reused.status).toBe(400)
		expect(reused.data).toMatchObject({ error: 'login.error.expired' })
	})

	test('a link opened in another browser is refused there, and the code still works in the first', async () => {
		const email = newEmail()
		const { jar } = await askForEmail(email)
		const { link, code } = await latestLoginEmail(email)
		const otherBrowser = new CookieJar()
		const elsewhere = await openLink(link, otherBrowser)
		expect(elsewhere.data).toMatchObject({ error: 'login.error.otherBrowser' })
		expect(otherBrowser.get('__session')).toBeUndefined()
		expect((await typeCode(code, jar)).status).toBe(302)
	})

	test('a new email retires the previous code', async () => {
		const email = newEmail()
		const first = await askForEmail(email)
		const { code: oldCode } = await latestLoginEmail(email)
		await askForEmail(email, first.jar, first.ip)
		const { code: newCode } = await latestLoginEmail(email)
		if (oldCode !== newCode)
			expect((await typeCode(oldCode, first.jar)).data).toMatchObject({ error: expect.stringMatching(/expired|invalidCode/) })
		expect((await typeCode(newCode, first.jar)).status).toBe(302)
	})

	test('too many emails per address, then per IP, get 429 with Retry-After and no email', async () => {
		const email = newEmail()
		const statuses = []
		for (let i = 0; i < 6; i++) statuses.push((await askForEmail(email)).result)
		expect(statuses.slice(0, 5).every((r) => r.status === 302)).toBe(true)
		expect(statuses[5]!.status).toBe(429)
		expect(Number(statuses[5]!.response!.headers.get('Retry-After'))).toBeGreaterThan(0)
		expect(statuses[5]!.data).toMatchObject({ error: 'login.error.rateLimited' })
		expect(await queuedEmailsTo(email)).toHaveLength(5)

		const ip = newIp()
		const perIp = []
		for (let i = 0; i < 21; i++) perIp.push((await askForEmail(newEmail(), new CookieJar(), ip)).result.status)
		expect(perIp.filter((s) => s === 302)).toHaveLength(20)
		expect(perIp.at(-1)).toBe(429)
	})

	test('a forged or tampered session cookie is just a logged-out visitor', async () => {
		const jar = new CookieJar()
		jar.set('__session', 'forged-value')
		expect((await dashboard(jar)).response?.headers.get('Location')).toBe('/login')
		// A real session id, signature stripped or altered, does not pass either.
		const email = newEmail()
		const { jar: real } = await askForEmail(email)
		await typeCode((await latestLoginEmail(email)).code, real)
		const cookie = real.get('__session')!
		const tampered = new CookieJar()
		tampered.set('__session', cookie.slice(0, -4) + (cookie.endsWith('AAAA') ? 'BBBB' : 'AAAA'))
		expect((await dashboard(tampered)).response?.headers.get('Location')).toBe('/login')
		expect((await dashboard(real)).status).toBe(200)
	})

	test('the root loader tells the page who is logged in, without secrets', async () => {
		const email = newEmail()
		const { jar } = await askForEmail(email)
		await typeCode((await latestLoginEmail(email)).code, jar)
		const root = await call(() => rootLoader({ request: makeRequest('/', { jar }), params: {}, context: { nonce: 'n', csrfToken: 't' } }))
		expect(root.data).toMatchObject({ user: { email, creditBalance: 5 }, locale: 'fr', csrfToken: 't' })
		expect(JSON.stringify(root.data)).not.toMatch(/session|totp/i)
	})
})
