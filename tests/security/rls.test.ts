import { describe, expect, test } from 'vitest'
import { privileged, withUser } from '#app/utils/db.server.ts'
import { userOwnedTables, userWithEverything } from './fixtures.ts'

// tests/row-level-security.test.ts proves, table by table, that withUser(A) reads, updates and
// deletes none of B's rows in every table with a user_id. This file closes the gaps around it:
// a table WITHOUT a user_id column (or a new one somebody forgets to protect) must be out of the
// application role's reach altogether, and a code path that forgets withUser (no app.user_id in
// its transaction) must see nothing rather than everything.

/** The login role the web process uses (subject to RLS), as Postgres sees it. */
async function appRole() {
	const [row] = await withUser(
		'00000000-0000-0000-0000-000000000000',
		(tx) => tx.$queryRaw<{ role: string }[]>`SELECT current_user AS role`,
	)
	return row!.role
}

describe('row level security: what the per-table test does not see', () => {
	test('every table of the public schema is either isolated per owner by RLS, or unreachable by the application role', async () => {
		const role = await appRole()
		const owned = new Set(await userOwnedTables())
		const tables = await privileged().$queryRaw<
			{
				name: string
				rls: boolean
				forced: boolean
				policies: string[]
				select: boolean
				insert: boolean
				update: boolean
				delete: boolean
			}[]
		>`
			SELECT c.relname AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
			       array(SELECT p.polname FROM pg_policy p WHERE p.polrelid = c.oid)::text[] AS policies,
			       has_table_privilege(${role}, c.oid, 'SELECT') OR has_any_column_privilege(${role}, c.oid, 'SELECT') AS select,
			       has_table_privilege(${role}, c.oid, 'INSERT') OR has_any_column_privilege(${role}, c.oid, 'INSERT') AS insert,
			       has_table_privilege(${role}, c.oid, 'UPDATE') OR has_any_column_privilege(${role}, c.oid, 'UPDATE') AS update,
			       has_table_privilege(${role}, c.oid, 'DELETE') AS delete
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
			ORDER BY 1`
		expect(tables.length).toBeGreaterThanOrEqual(owned.size)
		const exposed = tables.filter((table) => {
			const reachable = table.select || table.insert || table.update || table.delete
			const isolated = owned.has(table.name) && table.rls && table.forced && table.policies.includes('owner_only')
			return reachable && !isolated
		})
		// A table listed here is readable or writable by the web role without an owner policy:
		// give it a user_id and the owner policy (decision 003), or revoke the role's grants on it.
		expect(exposed.map((table) => table.name)).toEqual([])
		// And the tables without a user_id (login codes, rate-limit counters, webhook events…) exist and are among the unreachable.
		expect(tables.filter((table) => !owned.has(table.name)).length).toBeGreaterThan(0)
	})

	test('the owner comes from the transaction only: a transaction of the app role that never set app.user_id sees nothing', async () => {
		await userWithEverything('Rls')
		const role = await appRole()
		const leaks: string[] = []
		let checked = 0
		for (const table of await userOwnedTables()) {
			const [all] = await privileged().$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${table}"`)
			// As the web role, in a transaction that forgot withUser (no app.user_id at all).
			const seen = await privileged()
				.$transaction(async (tx) => {
					await tx.$executeRawUnsafe(`SET LOCAL ROLE "${role}"`)
					return tx.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${table}"`)
				})
				.then(
					([row]) => row!.n,
					(error: Error) => (/permission denied/.test(error.message) ? 0 : Promise.reject(error)),
				)
			if (all!.n > 0) checked++
			if (seen > 0) leaks.push(`${table}: ${seen} of ${all!.n} rows`)
		}
		expect(leaks).toEqual([])
		// The check is worth something only if the tables hold rows.
		expect(checked).toBeGreaterThanOrEqual(10)
	})
})
