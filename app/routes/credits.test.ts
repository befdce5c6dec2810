import { describe, expect, test } from 'vitest'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { call, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { loader } from './credits.tsx'

const ctx = { nonce: '', csrfToken: '' }
type Page = { balance: number; movements: { reason: string; delta: number; balanceAfter: number }[]; older: string | null }

describe('credits page', () => {
	test('shows my balance and my movements only, newest first, paged', async () => {
		const me = await loggedInUser()
		const other = await loggedInUser()
		await grant(privileged(), { userId: other.id, credits: 99, reason: 'admin_adjustment', idempotencyKey: `t:${other.id}` })
		// All in one transaction: identical timestamps, so the cursor must break ties.
		await privileged().$transaction(async (tx) => {
			for (let i = 0; i < 30; i++)
				await grant(tx, { userId: me.id, credits: 1, reason: 'admin_adjustment', idempotencyKey: `t:${me.id}:${i}` })
		})
		const first = (await call(() => loader({ request: makeRequest('/credits', { jar: me.jar }), params: {}, context: ctx }))).data as Page
		expect(first.balance).toBe(35)
		expect(first.movements).toHaveLength(25)
		expect(first.movements[0]).toMatchObject({ reason: 'admin_adjustment', delta: 1, balanceAfter: 35 })
		expect(first.movements.every((m) => m.delta !== 99)).toBe(true)
		expect(first.older).toBeTruthy()

		const second = (
			await call(() =>
				loader({ request: makeRequest(`/credits?before=${encodeURIComponent(first.older!)}`, { jar: me.jar }), params: {}, context: ctx }),
			)
		).data as Page
		expect(second.movements).toHaveLength(6)
		expect(second.movements.at(-1)).toMatchObject({ reason: 'welcome_bonus', delta: 5, balanceAfter: 5 })
		// Every movement appears exactly once across the pages.
		const afters = [...first.movements, ...second.movements].map((m) => m.balanceAfter).sort((a, b) => a - b)
		expect(afters).toEqual([5, ...Array.from({ length: 30 }, (_, i) => 6 + i)])
		expect(second.older).toBeNull()
	})

	test('a nonsense cursor is ignored rather than an error', async () => {
		const me = await loggedInUser()
		const page = await call(() =>
			loader({ request: makeRequest('/credits?before=1%27%20OR%201=1--', { jar: me.jar }), params: {}, context: ctx }),
		)
		expect(page.status).toBe(200)
		expect((page.data as Page).movements).toHaveLength(1)
	})
})
