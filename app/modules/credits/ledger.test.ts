import { describe, expect, test } from 'vitest'
import { privileged, withUser } from '#app/utils/db.server.ts'
import { createTestUser } from '#tests/utils/db.ts'
import {
	capture,
	getBalance,
	grant,
	InsufficientCreditsError,
	release,
	reserve,
	reserveMany,
	UnknownReservationError,
} from './ledger.server.ts'

describe('credit ledger', () => {
	test('50 concurrent reservations of 1 credit on a balance of 10: exactly 10 succeed', async () => {
		const user = await createTestUser()
		await grant(privileged(), { userId: user.id, credits: 10, reason: 'admin_adjustment', idempotencyKey: `test:${user.id}` })

		const results = await Promise.allSettled(
			Array.from({ length: 50 }, (_, i) =>
				withUser(user.id, (tx) => reserve(tx, { userId: user.id, credits: 1, reference: `transformation:${i}` })),
			),
		)
		const ok = results.filter((r) => r.status === 'fulfilled')
		const refused = results.filter((r) => r.status === 'rejected')
		expect(ok).toHaveLength(10)
		expect(refused).toHaveLength(40)
		for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InsufficientCreditsError)

		expect(await getBalance(privileged(), user.id)).toBe(0)
		const rows = await privileged().creditLedger.findMany({ where: { userId: user.id }, orderBy: { createdAt: 'asc' } })
		expect(rows).toHaveLength(11)
		expect(rows.every((row) => row.balanceAfter >= 0)).toBe(true)
		expect(rows.reduce((sum, row) => sum + row.delta, 0)).toBe(0)
	})

	test('the same idempotency key twice gives one movement', async () => {
		const user = await createTestUser()
		const input = { userId: user.id, credits: 7, reason: 'purchase' as const, idempotencyKey: 'stripe:cs_test_1' }
		const first = await grant(privileged(), input)
		const second = await grant(privileged(), input)
		const concurrent = await Promise.all([
			grant(privileged(), { ...input, idempotencyKey: 'stripe:cs_test_2' }),
			grant(privileged(), { ...input, idempotencyKey: 'stripe:cs_test_2' }),
		])
		expect(first).toEqual({ applied: true, balanceAfter: 7 })
		expect(second).toEqual({ applied: false, balanceAfter: null })
		expect(concurrent.filter((m) => m.applied)).toHaveLength(1)
		expect(await getBalance(privileged(), user.id)).toBe(14)
		expect(await privileged().creditLedger.count({ where: { userId: user.id } })).toBe(2)
	})

	test('a ledger row inserted by raw SQL (as from Prisma Studio) moves the balance', async () => {
		const user = await createTestUser()
		await privileged()
			.$executeRaw`INSERT INTO credit_ledger (user_id, delta, reason, idempotency_key) VALUES (${user.id}::uuid, 25, 'admin_adjustment', 'admin:ticket-1')`
		await privileged()
			.$executeRaw`INSERT INTO credit_ledger (user_id, delta, reason, idempotency_key) VALUES (${user.id}::uuid, -5, 'admin_adjustment', 'admin:ticket-2')`
		expect(await getBalance(privileged(), user.id)).toBe(20)
		const last = await privileged().creditLedger.findUniqueOrThrow({ where: { idempotencyKey: 'admin:ticket-2' } })
		expect(last.balanceAfter).toBe(20)
		// An overdraft from raw SQL is refused by the CHECK, whatever the tool.
		await expect(
			privileged()
				.$executeRaw`INSERT INTO credit_ledger (user_id, delta, reason, idempotency_key) VALUES (${user.id}::uuid, -21, 'admin_adjustment', 'admin:ticket-3')`,
		).rejects.toThrow(/credit_balance_nonnegative/)
		expect(await getBalance(privileged(), user.id)).toBe(20)
	})

	test('the balance cannot be edited directly and the ledger is append-only', async () => {
		const user = await createTestUser()
		await grant(privileged(), { userId: user.id, credits: 3, reason: 'welcome_bonus', idempotencyKey: `welcome:${user.id}` })
		await expect(privileged().$executeRaw`UPDATE users SET credit_balance = 1000 WHERE id = ${user.id}::uuid`).rejects.toThrow(
			/maintained by credit_ledger/,
		)
		await expect(privileged().$executeRaw`UPDATE credit_ledger SET delta = 1000 WHERE user_id = ${user.id}::uuid`).rejects.toThrow(
			/append-only/,
		)
		await expect(privileged().$executeRaw`DELETE FROM credit_ledger WHERE user_id = ${user.id}::uuid`).rejects.toThrow(/append-only/)
		expect(await getBalance(privileged(), user.id)).toBe(3)
	})

	test('a reservation is settled once: capture and release exclude each other', async () => {
		const user = await createTestUser()
		await grant(privileged(), { userId: user.id, credits: 5, reason: 'admin_adjustment', idempotencyKey: `t:${user.id}` })
		await withUser(user.id, (tx) => reserve(tx, { userId: user.id, credits: 2, reference: 'transformation:a' }))
		await withUser(user.id, (tx) => reserve(tx, { userId: user.id, credits: 2, reference: 'transformation:b' }))
		expect(await getBalance(privileged(), user.id)).toBe(1)

		expect((await release(privileged(), { userId: user.id, reference: 'transformation:a' })).applied).toBe(true)
		expect((await release(privileged(), { userId: user.id, reference: 'transformation:a' })).applied).toBe(false)
		expect((await capture(privileged(), { userId: user.id, reference: 'transformation:a' })).applied).toBe(false)
		expect((await capture(privileged(), { userId: user.id, reference: 'transformation:b' })).applied).toBe(true)
		expect((await release(privileged(), { userId: user.id, reference: 'transformation:b' })).applied).toBe(false)
		expect(await getBalance(privileged(), user.id)).toBe(3)

		await expect(release(privileged(), { userId: user.id, reference: 'transformation:none' })).rejects.toBeInstanceOf(
			UnknownReservationError,
		)
	})

	test('many reservations in one statement: all of them or, over the balance, none; settled one by one', async () => {
		const user = await createTestUser()
		await grant(privileged(), { userId: user.id, credits: 10, reason: 'admin_adjustment', idempotencyKey: `t:${user.id}` })
		const references = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `transformation:${prefix}${i}`)

		await expect(
			withUser(user.id, (tx) => reserveMany(tx, { userId: user.id, credits: 1, references: references(11, 'x') })),
		).rejects.toBeInstanceOf(InsufficientCreditsError)
		expect(await getBalance(privileged(), user.id)).toBe(10)
		expect(await privileged().creditLedger.count({ where: { userId: user.id, reason: 'reservation' } })).toBe(0)

		expect(await withUser(user.id, (tx) => reserveMany(tx, { userId: user.id, credits: 2, references: references(4, 'y') }))).toBe(4)
		// The same references again: already reserved, nothing moves.
		expect(await withUser(user.id, (tx) => reserveMany(tx, { userId: user.id, credits: 2, references: references(4, 'y') }))).toBe(0)
		expect(await getBalance(privileged(), user.id)).toBe(2)
		const rows = await privileged().creditLedger.findMany({ where: { userId: user.id, reason: 'reservation' }, orderBy: { seq: 'asc' } })
		expect(rows.map((row) => [row.reference, row.delta, row.balanceAfter])).toEqual([
			['transformation:y0', -2, 8],
			['transformation:y1', -2, 6],
			['transformation:y2', -2, 4],
			['transformation:y3', -2, 2],
		])
		expect((await release(privileged(), { userId: user.id, reference: 'transformation:y0' })).applied).toBe(true)
		expect((await capture(privileged(), { userId: user.id, reference: 'transformation:y1' })).applied).toBe(true)
		expect(await getBalance(privileged(), user.id)).toBe(4)
	})

	test('a capture does not wait behind the same user’s movement in progress; twin captures settle once', async () => {
		const user = await createTestUser()
		await grant(privileged(), { userId: user.id, credits: 10, reason: 'admin_adjustment', idempotencyKey: `t:${user.id}` })
		await reserve(privileged(), { userId: user.id, credits: 2, reference: 'transformation:done' })
		// An order of this user holds its row (a reservation not committed yet) until `release` is called.
		let release!: () => void
		const held = new Promise<void>((resolve) => (release = resolve))
		let reserved!: () => void
		const reservedInOrder = new Promise<void>((resolve) => (reserved = resolve))
		const order = privileged().$transaction(
			async (tx) => {
				await reserve(tx, { userId: user.id, credits: 3, reference: 'transformation:ordered' })
				reserved()
				await held
			},
			{ timeout: 20_000 },
		)
		await reservedInOrder
		// The capture commits while the order still holds the row (it used to wait for it).
		const captured = await Promise.race([
			capture(privileged(), { userId: user.id, reference: 'transformation:done' }),
			new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 5_000)),
		])
		release()
		await order
		expect(captured).toEqual({ applied: true, balanceAfter: 8 })
		// Twins of one capture, at once: one movement, no error.
		await reserve(privileged(), { userId: user.id, credits: 1, reference: 'transformation:twin' })
		const twins = await Promise.all(
			[0, 1].map(() =>
				privileged().$transaction(async (tx) => {
					const result = await capture(tx, { userId: user.id, reference: 'transformation:twin' })
					await new Promise((resolve) => setTimeout(resolve, 100))
					return result.applied
				}),
			),
		)
		expect(twins.sort()).toEqual([false, true])
		expect(await privileged().creditLedger.count({ where: { userId: user.id, idempotencyKey: 'settle:transformation:twin' } })).toBe(1)
		expect(await getBalance(privileged(), user.id)).toBe(4)
	})

	test('the application role can only spend its own credits', async () => {
		const user = await createTestUser()
		const other = await createTestUser()
		await grant(privileged(), { userId: other.id, credits: 5, reason: 'admin_adjustment', idempotencyKey: `t:${other.id}` })
		// Minting credits from a user request is refused by the restrictive policy.
		await expect(
			withUser(user.id, (tx) => grant(tx, { userId: user.id, credits: 100, reason: 'purchase', idempotencyKey: 'forged' })),
		).rejects.toThrow(/row-level security/)
		// Spending someone else's credits is refused too.
		await expect(withUser(user.id, (tx) => reserve(tx, { userId: other.id, credits: 1, reference: 'x' }))).rejects.toThrow(
			/row-level security/,
		)
		expect(await getBalance(privileged(), user.id)).toBe(0)
		expect(await getBalance(privileged(), other.id)).toBe(5)
	})
})
