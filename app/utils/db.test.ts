import crypto from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { isDatabaseUnreachable, Prisma, privileged, privilegedDirect, privilegedLocked, type DirectSql, type Tx } from './db.server.ts'

describe('privilegedLocked', () => {
	test('takes its advisory lock with the BEGIN (one round trip), held until the end of the transaction', async () => {
		const key = crypto.randomUUID()
		const [{ hash } = { hash: 0 }] = await privileged().$queryRaw<{ hash: number }[]>`SELECT hashtext(${key}) AS hash`
		const held = () => privileged().$queryRaw<{ n: number }[]>`
			SELECT count(*)::int AS n FROM pg_locks
			WHERE locktype = 'advisory' AND classid = 7 AND objid::bigint = (${hash}::bigint & 4294967295) AND objsubid = 2 AND granted`
		await privilegedLocked({ space: 7, key }, async (tx) => {
			// Before any statement of ours: the lock is held, and the backend's last query was the BEGIN carrying it.
			expect(await held()).toEqual([{ n: 1 }])
			const begun = await privileged().$queryRaw<{ n: number }[]>`
				SELECT count(*)::int AS n FROM pg_stat_activity
				WHERE state = 'idle in transaction' AND query = ${`BEGIN; SELECT pg_advisory_xact_lock(7, hashtext('${key}'))`}`
			expect(begun).toEqual([{ n: 1 }])
			await tx.$queryRaw`SELECT 1`
		})
		expect(await held()).toEqual([{ n: 0 }])
	})

	test('genericPlans: the transaction runs on generic plans (set with the BEGIN, or by a statement of its own), and only that transaction', async () => {
		const mode = async (tx: Tx) => (await tx.$queryRaw<{ mode: string }[]>`SELECT current_setting('plan_cache_mode') AS mode`)[0]?.mode
		for (const key of [crypto.randomUUID(), 'not-a-uuid']) {
			await privilegedLocked({ space: 7, key }, async (tx) => expect(await mode(tx)).toBe('force_generic_plan'), { genericPlans: true })
			await privilegedLocked({ space: 7, key }, async (tx) => expect(await mode(tx)).toBe('auto'))
		}
	})

	test('a key that is not a UUID is never inlined: the lock is taken by a statement of its own', async () => {
		const key = `batch'; DROP TABLE users; --`
		const [{ hash } = { hash: 0 }] = await privileged().$queryRaw<{ hash: number }[]>`SELECT hashtext(${key}) AS hash`
		await privilegedLocked({ space: 7, key }, async () => {
			const [row] = await privileged().$queryRaw<{ n: number }[]>`
				SELECT count(*)::int AS n FROM pg_locks
				WHERE locktype = 'advisory' AND classid = 7 AND objid::bigint = (${hash}::bigint & 4294967295) AND objsubid = 2 AND granted`
			expect(row).toEqual({ n: 1 })
		})
		expect(await privileged().user.count()).toBeGreaterThanOrEqual(0)
	})
})

describe('privilegedDirect', () => {
	const key = () => `test-direct:${crypto.randomUUID()}`
	const count = (k: string) => privileged().rateLimit.count({ where: { key: k } })

	test('a transaction commits all of its statements, or none of them when its function throws', async () => {
		const [kept, dropped] = [key(), key()]
		const insert = (sql: DirectSql, k: string) =>
			sql.query(Prisma.sql`INSERT INTO rate_limits (key, count, reset_at) VALUES (${k}, 1, now()) RETURNING 1`)
		await privilegedDirect.transaction(async (sql) => {
			await insert(sql, kept)
			// pg-boss's side of it (enqueue's `sql`): the same transaction.
			await sql.executeSql('UPDATE rate_limits SET count = 2 WHERE key = $1', [kept])
		})
		expect(await privileged().rateLimit.findUnique({ where: { key: kept }, select: { count: true } })).toEqual({ count: 2 })
		await expect(
			privilegedDirect.transaction(async (sql) => {
				await insert(sql, dropped)
				throw new Error('refused')
			}),
		).rejects.toThrow('refused')
		expect(await count(dropped)).toBe(0)
	})

	test('its sessions run on generic plans; the other pools keep the default', async () => {
		const mode = Prisma.sql`SELECT current_setting('plan_cache_mode') AS mode`
		expect(await privilegedDirect.query<{ mode: string }>(mode)).toEqual([{ mode: 'force_generic_plan' }])
		expect(await privileged().$queryRaw(mode)).toEqual([{ mode: 'auto' }])
	})
})

test("isDatabaseUnreachable knows node-postgres's own connection failures, and not a query's error", () => {
	expect(isDatabaseUnreachable(new Error('timeout exceeded when trying to connect'))).toBe(true)
	expect(isDatabaseUnreachable(new Error('Connection terminated unexpectedly'))).toBe(true)
	expect(isDatabaseUnreachable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true)
	expect(isDatabaseUnreachable(Object.assign(new Error('Connection terminated by the query'), { code: '23505' }))).toBe(false)
	expect(isDatabaseUnreachable(new Error('relation "x" does not exist'))).toBe(false)
})
