import crypto from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { createUserSession } from '#app/modules/auth/session.server.ts'
import { confirmDeletion, DeletionError } from '#app/modules/gdpr/deletion.server.ts'
import { translate } from '#app/modules/i18n/catalog.ts'
import { action as loginAction } from '#app/routes/_auth+/login.tsx'
import { action as verifyAction } from '#app/routes/_auth+/login_.verify.tsx'
import { privileged, withUser } from '#app/utils/db.server.ts'
import { accountDelete } from '#worker/jobs/account-delete.ts'
import { call, CookieJar, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { latestLoginEmail, queuedEmailsTo } from '#tests/utils/mail.ts'
import { action, loader } from './delete-account.tsx'
import { loader as settingsLoader } from './index.tsx'

const ctx = { nonce: 'n', csrfToken: 't' }
type Problem = { intent: string; error: string; vars?: Record<string, number> }

const page = (jar: CookieJar) => call(() => loader({ request: makeRequest('/settings/delete-account', { jar }), params: {}, context: ctx }))
const post = (jar: CookieJar, form: Record<string, string>) =>
	call(() => action({ request: makeRequest('/settings/delete-account', { jar, form }), params: {}, context: ctx }))
const settings = (jar: CookieJar) => call(() => settingsLoader({ request: makeRequest('/settings', { jar }), params: {}, context: ctx }))
const sendCode = (jar: CookieJar) => post(jar, { intent: 'send', confirm: 'yes' })
const typeCode = (jar: CookieJar, code: string) => post(jar, { intent: 'confirm', code })

/** The code of the newest deletion email to `email`. */
async function deletionCode(email: string) {
	const message = (await queuedEmailsTo(email)).find((m) => m.subject.startsWith('Confirmez la suppression'))
	if (!message) throw new Error(`no deletion email for ${email}`)
	return /(\d{6})$/.exec(message.subject)![1]!
}

/** A 6-digit code that is not `code`. */
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0')

const auditTypes = async (userId: string) =>
	(await privileged().auditEvent.findMany({ where: { userId }, orderBy: { createdAt: 'asc' }, select: { type: true } })).map((e) => e.type)

const jobsFor = (userId: string) =>
	privileged().$queryRaw<{ data: { userId: string; sweep?: boolean } }[]>`
		SELECT data FROM pgboss.job WHERE name = 'account-delete' AND data->>'userId' = ${userId}`

describe('delete my account: the page and the emailed code', () => {
	test('the page says what goes and what stays; without the box ticked nothing happens; the code is emailed, stored hashed', async () => {
		const me = await loggedInUser()
		const shown = await page(me.jar)
		expect(shown.status).toBe(200)
		expect(shown.data).toMatchObject({ email: me.email, credits: 5, pending: false, minutes: 15 })

		const unticked = await post(me.jar, { intent: 'send' })
		expect(unticked.status).toBe(400)
		expect(unticked.data).toEqual({ intent: 'send', error: 'accountDeletion.error.confirmRequired' })
		expect(translate('fr', 'accountDeletion.error.confirmRequired')).toMatch(/Cochez la case/)
		expect(await privileged().accountDeletionCode.count({ where: { userId: me.id } })).toBe(0)
		expect((await queuedEmailsTo(me.email)).some((m) => m.subject.startsWith('Confirmez'))).toBe(false)

		const sent = await sendCode(me.jar)
		expect(sent.status).toBe(302)
		expect(sent.response!.headers.get('Location')).toBe('/settings/delete-account')
		const code = await deletionCode(me.email)
		const [row] = await privileged().accountDeletionCode.findMany({ where: { userId: me.id } })
		expect(row!.codeHash).not.toContain(code)
		expect(row!.expiresAt.getTime() - Date.now()).toBeGreaterThan(14 * 60_000)
		expect((await page(me.jar)).data).toMatchObject({ pending: true })
		expect(await auditTypes(me.id)).toContain('account.deletion_requested')
		// Nothing is marked yet.
		const user = await privileged().user.findUniqueOrThrow({ where: { id: me.id }, select: { deletionRequestedAt: true } })
		expect(user.deletionRequestedAt).toBeNull()
	})

	test('a wrong code: French error, attempt counted and audited; the 5th wrong one locks the code, before 10 tries', async () => {
		const me = await loggedInUser()
		await sendCode(me.jar)
		const code = await deletionCode(me.email)

		const malformed = await typeCode(me.jar, '12345')
		expect(malformed.status).toBe(400)
		expect(malformed.data).toMatchObject({ error: 'accountDeletion.error.codeFormat' })

		const first = await typeCode(me.jar, wrong(code))
		expect(first.status).toBe(400)
		expect(first.data).toEqual({ intent: 'confirm', error: 'accountDeletion.error.invalidCode', vars: { remaining: 4 } })
		expect(translate('fr', 'accountDeletion.error.invalidCode', { remaining: 4 })).toBe('Code incorrect. Il vous reste 4 essais.')
		const outcomes: string[] = []
		for (let i = 2; i <= 10; i++) outcomes.push(((await typeCode(me.jar, wrong(code))).data as Problem).error)
		expect(outcomes.slice(0, 3)).toEqual([
			'accountDeletion.error.invalidCode',
			'accountDeletion.error.invalidCode',
			'accountDeletion.error.invalidCodeLast',
		])
		expect(outcomes.slice(3)).toEqual(Array(6).fill('accountDeletion.error.locked'))
		// Locked: even the right code is refused now.
		const right = await typeCode(me.jar, code)
		expect(right.status).toBe(429)
		expect(right.data).toMatchObject({ error: 'accountDeletion.error.locked' })
		expect((await auditTypes(me.id)).filter((t) => t === 'account.deletion_code_failed')).toHaveLength(11)
		const user = await privileged().user.findUniqueOrThrow({ where: { id: me.id }, select: { deletionRequestedAt: true } })
		expect(user.deletionRequestedAt).toBeNull()
		expect((await settings(me.jar)).status).toBe(200)
		expect(await jobsFor(me.id)).toHaveLength(0)
		// A new code starts afresh.
		await sendCode(me.jar)
		expect((await page(me.jar)).data).toMatchObject({ pending: true })
	})

	test("another user's code is refused; only the newest code works; sends are rate limited with Retry-After", async () => {
		const a = await loggedInUser()
		const b = await loggedInUser()
		await sendCode(a.jar)
		const oldCode = await deletionCode(a.email)
		await sendCode(b.jar)
		const bCode = await deletionCode(b.email)
		expect((await typeCode(a.jar, bCode)).data).toMatchObject({ error: 'accountDeletion.error.invalidCode' })

		await sendCode(a.jar)
		const newCode = await deletionCode(a.email)
		// (One chance in a million that both codes are the same: then there is nothing to show.)
		if (oldCode !== newCode) expect((await typeCode(a.jar, oldCode)).data).toMatchObject({ error: 'accountDeletion.error.invalidCode' })

		// DELETION_CODES_PER_HOUR (3) sends, then 429.
		expect((await sendCode(a.jar)).status).toBe(302)
		const limited = await sendCode(a.jar)
		expect(limited.status).toBe(429)
		expect(Number(limited.response!.headers.get('Retry-After'))).toBeGreaterThan(0)
		expect(limited.data).toMatchObject({ intent: 'send', error: 'accountDeletion.error.rateLimited' })
		expect(translate('fr', 'accountDeletion.error.rateLimited', { minutes: 60 })).toBe('Trop de codes demandés. Réessayez dans 60 min.')
		expect(await privileged().accountDeletionCode.count({ where: { userId: a.id } })).toBe(3)

		// B's own code still works for B: A's tries did not touch it.
		const done = await typeCode(b.jar, bCode)
		expect(done.status).toBe(302)
		expect((await privileged().user.findUniqueOrThrow({ where: { id: a.id } })).deletionRequestedAt).toBeNull()
	})

	test('the right code: account marked, every session revoked, job queued, all in one go; logged out to a French page; the code cannot be replayed', async () => {
		const me = await loggedInUser()
		const phone = new CookieJar()
		phone.take(new Response(null, { headers: { 'Set-Cookie': await createUserSession(me.id, makeRequest('/login/verify')) } }))
		expect((await settings(phone)).status).toBe(200)
		await sendCode(me.jar)
		const code = await deletionCode(me.email)

		const done = await typeCode(me.jar, code)
		expect(done.status).toBe(302)
		expect(done.response!.headers.get('Location')).toBe('/settings/delete-account/done')
		expect(done.response!.headers.get('Set-Cookie')).toMatch(/__session=;.*Max-Age=0/i)
		me.jar.take(done.response!)

		const user = await privileged().user.findUniqueOrThrow({ where: { id: me.id }, select: { deletionRequestedAt: true } })
		expect(user.deletionRequestedAt).toBeInstanceOf(Date)
		const sessions = await privileged().session.findMany({ where: { userId: me.id }, select: { revokedAt: true } })
		expect(sessions.length).toBeGreaterThanOrEqual(2)
		expect(sessions.every((s) => s.revokedAt !== null)).toBe(true)
		expect((await jobsFor(me.id)).map((j) => j.data)).toEqual([{ userId: me.id }])
		expect(await auditTypes(me.id)).toEqual(expect.arrayContaining(['account.deletion_requested', 'account.deletion_confirmed']))

		// Logged out everywhere: this browser and the phone go to the login page.
		for (const jar of [me.jar, phone]) {
			const after = await settings(jar)
			expect(after.status).toBe(302)
			expect(after.response!.headers.get('Location')).toBe('/login?redirectTo=%2Fsettings')
		}
		// Replaying the code: from the old session it is a login redirect, and the code itself is spent.
		const replay = await typeCode(phone, code)
		expect(replay.status).toBe(302)
		expect(replay.response!.headers.get('Location')).toMatch(/^\/login/)
		await expect(confirmDeletion({ userId: me.id, code, request: makeRequest('/settings/delete-account') })).rejects.toThrow(DeletionError)
		expect(await jobsFor(me.id)).toHaveLength(1)
		expect(translate('fr', 'accountDeletion.done.title')).toBe('Votre compte est en cours de suppression')
	})

	test('while the deletion is pending: logging in again is refused with a clear French message, and no new work is accepted', async () => {
		const me = await loggedInUser()
		await sendCode(me.jar)
		await typeCode(me.jar, await deletionCode(me.email))

		const jar = new CookieJar()
		const asked = await call(() =>
			loginAction({ request: makeRequest('/login', { form: { email: me.email }, jar }), params: {}, context: ctx }),
		)
		jar.take(asked.response!)
		const { code } = await latestLoginEmail(me.email)
		const refused = await call(() =>
			verifyAction({ request: makeRequest('/login/verify', { form: { code }, jar }), params: {}, context: ctx }),
		)
		expect(refused.status).toBe(400)
		expect(refused.data).toEqual({ error: 'accountDeletion.loginRefused' })
		expect(translate('fr', 'accountDeletion.loginRefused')).toMatch(/^Ce compte est en cours de suppression/)
		expect(refused.response?.headers.get('Set-Cookie') ?? '').not.toMatch(/__session=[^;]/)
		expect(await privileged().session.count({ where: { userId: me.id, revokedAt: null } })).toBe(0)

		// Whatever the path (web role through RLS, or the worker's), nothing new is written for the account.
		await expect(withUser(me.id, (tx) => tx.project.create({ data: { userId: me.id, name: 'Nouveau' } }))).rejects.toThrow(/being deleted/)
		await expect(privileged().customStyle.create({ data: { userId: me.id, name: 'Style', prompt: 'clair' } })).rejects.toThrow(
			/being deleted/,
		)
		expect(await privileged().project.count({ where: { userId: me.id } })).toBe(0)
	})

	test('without Stripe keys the Stripe step is skipped, the rest of the erasure runs; the job is harmless run again', async () => {
		const me = await loggedInUser()
		const customerId = `cus_${crypto.randomBytes(7).toString('hex')}`
		await privileged().user.update({ where: { id: me.id }, data: { stripeCustomerId: customerId } })
		await sendCode(me.jar)
		await typeCode(me.jar, await deletionCode(me.email))
		const [job] = await jobsFor(me.id)
		const deletedBefore = await privileged().auditEvent.count({ where: { type: 'account.deleted' } })

		await accountDelete(job!.data)
		expect(await privileged().user.findUnique({ where: { id: me.id } })).toBeNull()
		const deleted = await privileged().auditEvent.findMany({ where: { type: 'account.deleted' }, orderBy: { createdAt: 'desc' }, take: 1 })
		expect(deleted[0]).toMatchObject({ userId: null, ipHash: null, data: { forfeitedCredits: 5, stripeCustomer: 'skipped' } })
		expect(JSON.stringify(deleted[0])).not.toContain(me.id)
		expect(JSON.stringify(deleted[0])).not.toContain(customerId)
		const farewell = (await queuedEmailsTo(me.email)).filter((m) => m.subject === 'Votre compte Renzo a été supprimé')
		expect(farewell).toHaveLength(1)

		await accountDelete(job!.data)
		expect(await privileged().auditEvent.count({ where: { type: 'account.deleted' } })).toBe(deletedBefore + 1)
		expect((await queuedEmailsTo(me.email)).filter((m) => m.subject === 'Votre compte Renzo a été supprimé')).toHaveLength(1)
	})
})
