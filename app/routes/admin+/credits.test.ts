import { describe, expect, test } from 'vitest'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { translate } from '#app/modules/i18n/catalog.ts'
import { privileged } from '#app/utils/db.server.ts'
import { call, CookieJar, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { action, loader } from './credits.tsx'

const ctx = { nonce: '', csrfToken: '' }

async function admin() {
	const user = await loggedInUser()
	await privileged().user.update({ where: { id: user.id }, data: { role: 'admin' } })
	return user
}

const page = (jar: CookieJar, email?: string) =>
	call(() =>
		loader({
			request: makeRequest(`/admin/credits${email ? `?${new URLSearchParams({ email })}` : ''}`, { jar }),
			params: {},
			context: ctx,
		}),
	)
const post = (jar: CookieJar, form: Record<string, string>) =>
	call(() => action({ request: makeRequest('/admin/credits', { jar, form }), params: {}, context: ctx }))

type Page = { account: { id: string; email: string; creditBalance: number } | null; key: string; invalid: boolean }

async function ledgerOf(userId: string) {
	return privileged().creditLedger.findMany({
		where: { userId },
		orderBy: { seq: 'asc' },
		select: { delta: true, reason: true, note: true },
	})
}

describe('admin credit adjustment', () => {
	test('an admin finds an account by exact email and adds then removes credits through the ledger, audited on that account', async () => {
		const boss = await admin()
		const agent = await loggedInUser()
		// The login's normalisation applies: case and spaces do not matter, a partial address finds nothing.
		const found = (await page(boss.jar, `  ${agent.email.toUpperCase()} `)).data as Page
		expect(found.account).toEqual({ id: agent.id, email: agent.email, creditBalance: 5 })
		expect(((await page(boss.jar, agent.email.slice(1))).data as Page).account).toBeNull()
		expect(((await page(boss.jar, 'pas-un-email')).data as Page).invalid).toBe(true)

		const added = await post(boss.jar, {
			userId: agent.id,
			email: agent.email,
			key: found.key,
			delta: '12',
			note: 'Geste commercial, ticket 42',
		})
		expect(added.status).toBe(302)
		expect(added.response!.headers.get('Location')).toBe(`/admin/credits?${new URLSearchParams({ email: agent.email })}`)
		// The same form sent twice moves the credits once.
		expect(
			(await post(boss.jar, { userId: agent.id, email: agent.email, key: found.key, delta: '12', note: 'Geste commercial, ticket 42' }))
				.status,
		).toBe(302)
		const second = ((await page(boss.jar, agent.email)).data as Page).key
		expect((await post(boss.jar, { userId: agent.id, email: agent.email, key: second, delta: '-7', note: 'Doublon' })).status).toBe(302)

		expect((await privileged().user.findUniqueOrThrow({ where: { id: agent.id } })).creditBalance).toBe(5 + 12 - 7)
		expect((await ledgerOf(agent.id)).filter((row) => row.reason === 'admin_adjustment')).toEqual([
			{ delta: 12, reason: 'admin_adjustment', note: 'Geste commercial, ticket 42' },
			{ delta: -7, reason: 'admin_adjustment', note: 'Doublon' },
		])
		const events = await privileged().auditEvent.findMany({
			where: { type: 'credits.admin_adjustment' },
			orderBy: { createdAt: 'asc' },
			select: { userId: true, data: true, ipHash: true },
		})
		expect(events).toEqual([
			{ userId: agent.id, data: { adminId: boss.id, delta: 12, balanceAfter: 17 }, ipHash: expect.stringMatching(/^[0-9a-f]{32}$/) },
			{ userId: agent.id, data: { adminId: boss.id, delta: -7, balanceAfter: 10 }, ipHash: expect.stringMatching(/^[0-9a-f]{32}$/) },
		])
	})

	test('taking more than the balance is refused in French and writes nothing', async () => {
		const boss = await admin()
		const agent = await loggedInUser()
		await grant(privileged(), { userId: agent.id, credits: 3, reason: 'purchase', idempotencyKey: `t:${agent.id}` })
		const { key } = (await page(boss.jar, agent.email)).data as Page
		const ledgerBefore = await ledgerOf(agent.id)
		const auditBefore = await privileged().auditEvent.count()
		const refused = await post(boss.jar, { userId: agent.id, email: agent.email, key, delta: '-9', note: 'Correction' })
		expect(refused.status).toBe(400)
		const data = refused.data as { errors: { delta: 'admin.credits.error.negative' }; vars: { balance: number } }
		expect(data.errors.delta).toBe('admin.credits.error.negative')
		expect(translate('fr', data.errors.delta, data.vars)).toBe(
			'Ajustement refusé : le solde ne peut pas devenir négatif. Ce compte a 8 crédits, vous pouvez en retirer 8 au plus.',
		)
		expect((await privileged().user.findUniqueOrThrow({ where: { id: agent.id } })).creditBalance).toBe(8)
		expect(await ledgerOf(agent.id)).toEqual(ledgerBefore)
		expect(await privileged().auditEvent.count()).toBe(auditBefore)
		// The key was not spent: the corrected form goes through.
		expect((await post(boss.jar, { userId: agent.id, email: agent.email, key, delta: '-8', note: 'Correction' })).status).toBe(302)
		expect((await privileged().user.findUniqueOrThrow({ where: { id: agent.id } })).creditBalance).toBe(0)
	})

	test('a zero, a fraction, a missing note are refused next to their field', async () => {
		const boss = await admin()
		const agent = await loggedInUser()
		const { key } = (await page(boss.jar, agent.email)).data as Page
		for (const [delta, note, field] of [
			['0', 'x', 'delta'],
			['1.5', 'x', 'delta'],
			['abc', 'x', 'delta'],
			['200000', 'x', 'delta'],
			['5', '   ', 'note'],
		] as const) {
			const result = await post(boss.jar, { userId: agent.id, email: agent.email, key, delta, note })
			expect(result.status, delta).toBe(400)
			expect((result.data as { errors: Record<string, string> }).errors, delta).toHaveProperty(field)
		}
		expect(await privileged().creditLedger.count({ where: { userId: agent.id, reason: 'admin_adjustment' } })).toBe(0)
	})

	test('an agent, or nobody logged in, gets a 404 for the page and the action, and nothing moves', async () => {
		const agent = await loggedInUser()
		const victim = await loggedInUser()
		for (const jar of [agent.jar, new CookieJar()]) {
			expect((await page(jar, victim.email)).status).toBe(404)
			const attempt = await post(jar, { userId: victim.id, email: victim.email, key: crypto.randomUUID(), delta: '100', note: 'moi' })
			expect(attempt.status).toBe(404)
		}
		expect((await privileged().user.findUniqueOrThrow({ where: { id: victim.id } })).creditBalance).toBe(5)
		expect(await privileged().auditEvent.count({ where: { type: 'credits.admin_adjustment', userId: victim.id } })).toBe(0)
	})
})
