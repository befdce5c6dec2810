import crypto from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { privileged, privilegedLocked, type Tx } from './db.server.ts'

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
