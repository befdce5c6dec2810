import crypto from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { privileged, withUser, type Tx } from '#app/utils/db.server.ts'
import { createTestUser } from '#tests/utils/db.ts'

// Postgres enforces the owner filter a second time (decision 003): these queries carry NO
// owner filter of their own, so only RLS stands between user A and user B's rows.

async function seedEverything(userId: string) {
	const db = privileged()
	await grant(db, { userId, credits: 3, reason: 'welcome_bonus', idempotencyKey: `welcome:${userId}` })
	const project = await db.project.create({ data: { userId, name: 'Appartement Haussmannien' } })
	const photo = await db.photo.create({
		data: {
			userId,
			projectId: project.id,
			originalKey: `${userId}/originals/${project.id}/p.jpg`,
			originalFilename: 'p.jpg',
			contentType: 'image/jpeg',
		},
	})
	const style = await db.customStyle.create({ data: { userId, name: 'Mon style', prompt: 'chaleureux' } })
	const transformation = await db.transformation.create({
		data: {
			userId,
			projectId: project.id,
			photoId: photo.id,
			batchId: crypto.randomUUID(),
			kind: 'enhancement',
			creditsCost: 1,
			provider: 'local',
			customStyleId: style.id,
		},
	})
	await db.photoVariant.create({
		data: {
			userId,
			photoId: photo.id,
			transformationId: transformation.id,
			kind: 'thumbnail',
			key: `${userId}/thumbnails/${photo.id}.webp`,
			contentType: 'image/webp',
			width: 400,
			height: 300,
			sizeBytes: 1000,
		},
	})
	await db.session.create({ data: { id: crypto.randomBytes(32).toString('hex'), userId, expiresAt: new Date(Date.now() + 86_400_000) } })
	await db.recoveryCode.create({ data: { userId, codeHash: 'x' } })
	await db.purchase.create({ data: { userId, packId: 'pack-10', credits: 10, amountCents: 1900, stripeCheckoutSessionId: `cs_${userId}` } })
	await db.subscription.create({
		data: { userId, stripeSubscriptionId: `sub_${userId}`, planId: 'pro', status: 'active', stripeEventAt: new Date() },
	})
	await db.auditEvent.create({ data: { userId, type: 'login' } })
	await db.dataExport.create({ data: { userId } })
	await db.accountDeletionCode.create({ data: { userId, codeHash: 'x', expiresAt: new Date(Date.now() + 900_000) } })
	await db.webhookEvent.create({ data: { provider: 'stripe', id: `evt_${userId}`, type: 'invoice.paid', userId, payload: {} } })
	const endpoint = await db.webhookEndpoint.create({
		data: { userId, url: 'https://hooks.agence-exemple.fr/renzo', events: ['credits.low'], secretSealed: 'x' },
	})
	const event = await db.outgoingEvent.create({ data: { id: crypto.randomUUID(), userId, type: 'credits.low', body: '{}' } })
	const delivery = await db.webhookDelivery.create({
		data: { id: crypto.randomUUID(), userId, endpointId: endpoint.id, eventId: event.id },
	})
	await db.webhookAttempt.create({ data: { userId, deliveryId: delivery.id, number: 1, trigger: 'auto', statusCode: 500, durationMs: 12 } })
	await db.apiKey.create({ data: { userId, name: 'Logiciel', prefix: 'rz_live_test', secretHash: crypto.randomBytes(32).toString('hex') } })
	await db.idempotencyKey.create({ data: { userId, key: 'order-1', expiresAt: new Date(Date.now() + 86_400_000) } })
}

async function userOwnedTables(): Promise<string[]> {
	const rows = await privileged().$queryRaw<{ table_name: string }[]>`
		SELECT table_name FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = 'user_id' ORDER BY table_name`
	return ['users', ...rows.map((r) => r.table_name)]
}

describe('row level security', () => {
	test('every user-owned table has RLS enabled and forced, with an owner policy for the app role', async () => {
		const tables = await userOwnedTables()
		expect(tables.length).toBeGreaterThanOrEqual(14)
		const rows = await privileged().$queryRaw<
			{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean; policies: string[] }[]
		>`
			SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
			       array(SELECT p.polname FROM pg_policy p WHERE p.polrelid = c.oid)::text[] AS policies
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relname = ANY(${tables})`
		expect(rows).toHaveLength(tables.length)
		for (const row of rows) {
			expect(row, row.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true })
			expect(row.policies, row.relname).toContain('owner_only')
		}
	})

	test('the application role cannot bypass RLS', async () => {
		const user = await createTestUser()
		const [role] = await withUser(
			user.id,
			(tx) =>
				tx.$queryRaw<
					{ rolsuper: boolean; rolbypassrls: boolean }[]
				>`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`,
		)
		expect(role).toEqual({ rolsuper: false, rolbypassrls: false })
	})

	test("user A, with no owner filter at all, reads none of user B's rows and changes none", async () => {
		const a = await createTestUser()
		const b = await createTestUser()
		await seedEverything(a.id)
		await seedEverything(b.id)
		const tables = await userOwnedTables()

		for (const table of tables) {
			const ownerColumn = table === 'users' ? 'id' : 'user_id'
			const readable = table !== 'webhook_events' // the app role has no grant on it at all
			if (!readable) {
				await expect(withUser(a.id, (tx) => tx.$queryRawUnsafe(`SELECT 1 FROM "${table}"`))).rejects.toThrow(/permission denied/)
				continue
			}
			// What B sees of B (proves the rows exist and the query works).
			const own = await withUser(b.id, (tx) => tx.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${table}"`))
			// What A sees when asking for everything, and for B's rows explicitly.
			const leaked = await withUser(a.id, (tx) =>
				tx.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${table}" WHERE "${ownerColumn}" = $1::uuid`, b.id),
			)
			const everything = await withUser(a.id, (tx) =>
				tx.$queryRawUnsafe<{ owner: string }[]>(`SELECT "${ownerColumn}"::text AS owner FROM "${table}"`),
			)
			expect(Number(own[0]!.n), `${table}: B sees B's rows`).toBeGreaterThan(0)
			expect(Number(leaked[0]!.n), `${table}: A sees B's rows`).toBe(0)
			expect(
				everything.every((row) => row.owner === a.id),
				`${table}: A sees only A`,
			).toBe(true)

			// Updates and deletes by A on B's rows touch nothing (or are not even permitted).
			for (const statement of [
				`UPDATE "${table}" SET "${ownerColumn}" = "${ownerColumn}" WHERE "${ownerColumn}" = $1::uuid`,
				`DELETE FROM "${table}" WHERE "${ownerColumn}" = $1::uuid`,
			]) {
				const outcome = await withUser(a.id, (tx) => tx.$executeRawUnsafe(statement, b.id)).then(
					(count) => ({ count }),
					(error: Error) => ({ error: error.message }),
				)
				if ('count' in outcome) expect(outcome.count, `${table}: ${statement}`).toBe(0)
				else expect(outcome.error, `${table}: ${statement}`).toMatch(/permission denied|row-level security|append-only/)
			}
		}

		// Nothing of B's changed.
		const after = await privileged().project.findMany({ where: { userId: b.id } })
		expect(after).toHaveLength(1)
		expect((await privileged().user.findUniqueOrThrow({ where: { id: b.id } })).creditBalance).toBe(3)
	})

	test('A cannot insert rows in B’s name', async () => {
		const a = await createTestUser()
		const b = await createTestUser()
		await expect(withUser(a.id, (tx) => tx.project.create({ data: { userId: b.id, name: 'Intrus' } }))).rejects.toThrow(
			/row-level security/,
		)
		expect(await privileged().project.count({ where: { userId: b.id } })).toBe(0)
	})

	test('withUser sends app.user_id along with BEGIN (one round trip), and a nested withUser has its own', async () => {
		const a = await createTestUser()
		const b = await createTestUser()
		const currentUser = async (tx: Tx) => (await tx.$queryRaw<{ id: string }[]>`SELECT current_setting('app.user_id') AS id`)[0]!.id
		await withUser(a.id, async (tx) => {
			// Before any statement of ours: what the transaction's backend last ran, seen from another connection.
			const begun = await privileged().$queryRaw<{ n: number }[]>`
				SELECT count(*)::int AS n FROM pg_stat_activity
				WHERE state = 'idle in transaction' AND query = ${`BEGIN; SELECT set_config('app.user_id', '${a.id}', true)`}`
			expect(begun).toEqual([{ n: 1 }])
			expect(await currentUser(tx)).toBe(a.id)
			await withUser(b.id, async (inner) => expect(await currentUser(inner)).toBe(b.id))
			expect(await currentUser(tx)).toBe(a.id)
		})
		// Not a UUID: no inlining, the id is set by a statement of its own (and matches no row).
		await withUser('not-a-uuid', async (tx) => expect(await currentUser(tx)).toBe('not-a-uuid'))
	})
})
