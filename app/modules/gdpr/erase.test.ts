import crypto from 'node:crypto'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { requestLogin } from '#app/modules/auth/login.server.ts'
import { createUserSession } from '#app/modules/auth/session.server.ts'
import { grant, reserve } from '#app/modules/credits/ledger.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage, storageConfigFromEnv } from '#app/modules/storage/storage.server.ts'
import { createStyle } from '#app/modules/styles/styles.server.ts'
import { creditReference } from '#app/modules/transformations/order.server.ts'
import { action as creditsAction } from '#app/routes/credits.tsx'
import { action as deleteAction } from '#app/routes/settings+/delete-account.tsx'
import { loader as settingsLoader } from '#app/routes/settings+/index.tsx'
import { action as stripeWebhook } from '#app/routes/webhooks+/stripe.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { accountDelete } from '#worker/jobs/account-delete.ts'
import { startWorker } from '#worker/start.ts'
import { startS3Server } from '#tests/fakes/s3.ts'
import { startStripeFake, type StripeFake } from '#tests/fakes/stripe.ts'
import { startAppServer } from '#tests/utils/app-server.ts'
import { call, makeRequest, type CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { queuedEmailsTo } from '#tests/utils/mail.ts'
import { readyPhoto, roomJpeg } from '#tests/utils/photos.ts'
import { until } from '#tests/utils/until.ts'
import { eraseAccount, type EraseStep } from './erase.server.ts'
import { buildExport, requestExport } from './export.server.ts'

// The whole erasure, for real: data made through the app's own code paths (uploads processed,
// Checkout paid on the Stripe fake with its signed webhooks handled by the real route and job),
// the deletion asked and confirmed through the real route, the job run by its handler. Then the
// storage is LISTED and every text/json/uuid column of every public table SCANNED for the user's
// id and email. The same suite runs on both storage drivers (local folder, then s3rver).

const ctx = { nonce: 'n', csrfToken: 't' }
let fake: StripeFake
let app: Awaited<ReturnType<typeof startAppServer>>
let worker: Awaited<ReturnType<typeof startWorker>>

beforeAll(async () => {
	app = await startAppServer([{ method: 'POST', pattern: /^\/webhooks\/stripe$/, handler: stripeWebhook }])
	fake = await startStripeFake({ webhookUrl: `${app.url}/webhooks/stripe` })
	Object.assign(process.env, fake.env, { APP_URL: app.url })
	reloadEnv()
	worker = await startWorker({ queues: ['stripe-event'] })
})

afterAll(async () => {
	await worker?.stop(5_000)
	await fake?.close()
	await app?.close()
})

/** getStorage() keeps one instance per process: drop it so the next call reads the new settings. */
function resetStorage() {
	;(globalThis as { renzoStorage?: unknown }).renzoStorage = undefined
}

const webhooksSettled = async () => {
	await fake.settled()
	await until(
		'the Stripe events to be processed',
		() => privileged().webhookEvent.count({ where: { provider: 'stripe', processedAt: null } }),
		(n) => n === 0,
	)
}

async function checkout(jar: CookieJar, form: Record<string, string>) {
	const started = await call(() => creditsAction({ request: makeRequest('/credits', { jar, form }), params: {}, context: ctx }))
	expect(started.status).toBe(303)
	const sessionId = started.response!.headers.get('Location')!.split('/pay/')[1]!
	await fake.completeCheckout(sessionId, { name: 'Agence du Port' })
}

/**
 * An account with everything an agent leaves behind: two devices, a pending login email, a project
 * with processed photos, a finished transformation (result + variants), a queued and a running one
 * (credits reserved), a custom style with its example image, a built data export, a paid pack and a
 * monthly plan at Stripe (customer, subscription, purchases, ledger, stored webhooks), audit events.
 */
async function agentWithEverything() {
	const user = await loggedInUser()
	await createUserSession(user.id, makeRequest('/login/verify'))
	await requestLogin({ email: user.email, locale: 'fr', request: makeRequest('/login') })
	const db = privileged()
	const project = await db.project.create({ data: { userId: user.id, name: 'T4 Bordeaux – Chartrons', address: '3 quai des Chartrons' } })
	const photoIds = [await readyPhoto(user.id, project.id, { bytes: await roomJpeg(900, 600) }), await readyPhoto(user.id, project.id)]
	const transformation = (status: 'queued' | 'processing' | 'succeeded') =>
		db.transformation.create({
			data: {
				userId: user.id,
				projectId: project.id,
				photoId: photoIds[0]!,
				batchId: crypto.randomUUID(),
				kind: 'virtual_staging',
				style: 'scandinavian',
				creditsCost: 1,
				provider: 'local',
				status,
			},
			select: { id: true },
		})
	const done = await transformation('succeeded')
	const outputKey = storageKeys.transformed(user.id, project.id, done.id, 'jpg')
	await getStorage().put(outputKey, await roomJpeg(600, 400), { contentType: 'image/jpeg' })
	await db.transformation.update({ where: { id: done.id }, data: { outputKey, completedAt: new Date() } })
	for (const kind of ['thumbnail', 'preview'] as const) {
		const key = storageKeys.variant(user.id, project.id, done.id, kind)
		await getStorage().put(key, await roomJpeg(200, 150), { contentType: 'image/webp' })
		await db.photoVariant.create({
			data: {
				userId: user.id,
				photoId: photoIds[0]!,
				transformationId: done.id,
				kind,
				key,
				contentType: 'image/webp',
				width: 200,
				height: 150,
				sizeBytes: 1,
			},
		})
	}
	await grant(db, { userId: user.id, credits: 10, reason: 'admin_adjustment', idempotencyKey: `test:${user.id}`, note: 'geste commercial' })
	const unfinished = [await transformation('queued'), await transformation('processing')]
	for (const t of unfinished) await reserve(db, { userId: user.id, credits: 1, reference: creditReference(t.id) })
	const style = await createStyle(user.id, {
		fields: { name: 'Bord de mer', prompt: 'lin blanc, bois flotté, lumière du matin' },
		example: { bytes: await roomJpeg(400, 300) },
	})
	expect(style.ok).toBe(true)
	const exportId = await requestExport(user.id, makeRequest('/settings/export'))
	await buildExport(exportId)
	await checkout(user.jar, { intent: 'buy-pack', packId: 'decouverte' })
	await checkout(user.jar, { intent: 'buy-plan', planId: 'solo' })
	await webhooksSettled()
	const account = await db.user.findUniqueOrThrow({ where: { id: user.id }, select: { stripeCustomerId: true } })
	expect(await db.purchase.count({ where: { userId: user.id, status: 'paid' } })).toBe(1)
	expect(await db.subscription.count({ where: { userId: user.id, status: 'active' } })).toBe(1)
	return { ...user, projectId: project.id, customerId: account.stripeCustomerId! }
}

type Agent = Awaited<ReturnType<typeof agentWithEverything>>

/** Every stored key (local: every file and folder under the root; S3: every object of the bucket). */
async function listStorage(): Promise<string[]> {
	const config = storageConfigFromEnv()
	if (config.driver === 'local') {
		const entries = await fsp.readdir(config.root, { withFileTypes: true, recursive: true }).catch(() => [])
		return entries.map((e) => path.relative(config.root, path.join(e.parentPath, e.name))).sort()
	}
	const client = new S3Client({ endpoint: config.endpoint, region: config.region, credentials: config.credentials, forcePathStyle: true })
	const keys: string[] = []
	let token: string | undefined
	do {
		const page = await client.send(new ListObjectsV2Command({ Bucket: config.bucket, ContinuationToken: token }))
		keys.push(...(page.Contents ?? []).map((o) => o.Key!))
		token = page.NextContinuationToken
	} while (token)
	client.destroy()
	return keys.sort()
}

/** Every text/json/uuid/array column of every table of the public schema, cast to text, searched for each needle. */
async function scanDatabase(needles: string[]): Promise<string[]> {
	const columns = await privileged().$queryRaw<{ table_name: string; column_name: string }[]>`
		SELECT c.table_name, c.column_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
			AND c.data_type IN ('text', 'character varying', 'character', 'uuid', 'json', 'jsonb', 'ARRAY')
		ORDER BY c.table_name, c.column_name`
	expect(columns.length).toBeGreaterThan(50)
	const hits: string[] = []
	for (const { table_name: table, column_name: column } of columns)
		for (const needle of needles) {
			const [row] = await privileged().$queryRawUnsafe<{ n: number }[]>(
				`SELECT count(*)::int AS n FROM "${table}" WHERE strpos(lower("${column}"::text), lower($1)) > 0`,
				needle,
			)
			if (row!.n > 0) hits.push(`${table}.${column} ∋ ${needle} (${row!.n})`)
		}
	return hits
}

/** Rows per user-owned table, for the user that must stay untouched. */
async function rowsOf(userId: string) {
	const tables = await privileged().$queryRaw<{ table_name: string }[]>`
		SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'user_id' ORDER BY table_name`
	const counts: Record<string, number> = {}
	for (const { table_name: table } of tables) {
		const [row] = await privileged().$queryRawUnsafe<{ n: number }[]>(
			`SELECT count(*)::int AS n FROM "${table}" WHERE user_id = $1::uuid`,
			userId,
		)
		counts[table] = row!.n
	}
	const user = await privileged().user.findUniqueOrThrow({ where: { id: userId } })
	return { counts, user }
}

/** Asks for the deletion and types the emailed code, through the real route; returns the queued job's payload. */
async function confirmThroughRoute(agent: Agent) {
	const post = (form: Record<string, string>) =>
		call(() => deleteAction({ request: makeRequest('/settings/delete-account', { jar: agent.jar, form }), params: {}, context: ctx }))
	expect((await post({ intent: 'send', confirm: 'yes' })).status).toBe(302)
	const message = (await queuedEmailsTo(agent.email)).find((m) => m.subject.startsWith('Confirmez la suppression'))!
	const done = await post({ intent: 'confirm', code: /(\d{6})$/.exec(message.subject)![1]! })
	expect(done.response!.headers.get('Location')).toBe('/settings/delete-account/done')
	const [job] = await privileged().$queryRaw<{ data: { userId: string } }[]>`
		SELECT data FROM pgboss.job WHERE name = 'account-delete' AND data->>'userId' = ${agent.id} AND NOT (data ? 'sweep')`
	return job!.data
}

/** The follow-up sweeps the erasure queued (delayed by an hour and by days): run now, as the worker will then. */
async function runSweeps(userId: string, customerId: string) {
	const sweeps = await privileged().$queryRaw<{ data: { userId: string; stripeCustomerId?: string; sweep: boolean }; start_after: Date }[]>`
		SELECT data, start_after FROM pgboss.job WHERE name = 'account-delete' AND data->>'userId' = ${userId} AND data ? 'sweep'`
	expect(sweeps.map((s) => s.data)).toEqual([
		{ userId, stripeCustomerId: customerId, sweep: true },
		{ userId, stripeCustomerId: customerId, sweep: true },
	])
	expect(sweeps.every((s) => s.start_after.getTime() > Date.now() + 30 * 60_000)).toBe(true)
	for (const sweep of sweeps) await accountDelete(sweep.data)
}

async function expectNothingLeftOf(agent: Agent) {
	expect((await listStorage()).filter((key) => key.includes(agent.id))).toEqual([])
	expect(await scanDatabase([agent.id, agent.email, agent.customerId])).toEqual([])
	// The only copy of the address left is the farewell email, sealed (AES-GCM) in its job until sent.
	const [plain] = await privileged().$queryRaw<{ n: number }[]>`
		SELECT count(*)::int AS n FROM pgboss.job WHERE strpos(lower(data::text), lower(${agent.email})) > 0`
	expect(plain!.n).toBe(0)
}

describe.each([{ driver: 'local' as const }, { driver: 's3' as const }])('account erasure, $driver storage', ({ driver }) => {
	let s3: Awaited<ReturnType<typeof startS3Server>> | undefined
	beforeAll(async () => {
		if (driver === 's3') {
			s3 = await startS3Server()
			Object.assign(process.env, {
				S3_BUCKET: s3.bucket,
				S3_ENDPOINT: s3.endpoint,
				S3_REGION: s3.region,
				S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
				S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
				S3_FORCE_PATH_STYLE: 'true',
			})
		}
		reloadEnv()
		resetStorage()
		expect(getStorage().driver).toBe(driver)
	})
	afterAll(async () => {
		for (const name of ['S3_BUCKET', 'S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_FORCE_PATH_STYLE'])
			delete process.env[name]
		reloadEnv()
		resetStorage()
		await s3?.close()
	})

	test('after the route and the job, storage and database hold nothing of the user; another user is untouched; the Stripe customer is deleted', async () => {
		const me = await agentWithEverything()
		const other = await agentWithEverything()
		const otherKeys = (await listStorage()).filter((key) => key.includes(other.id))
		const otherRows = await rowsOf(other.id)

		// The checks can fail: before, the user is everywhere.
		const myKeys = (await listStorage()).filter((key) => key.includes(me.id))
		expect(myKeys.filter((k) => /originals|thumbnails|previews|transformed|styles|exports/.test(k)).length).toBeGreaterThanOrEqual(9)
		const before = await scanDatabase([me.id, me.email])
		for (const table of ['users', 'sessions', 'login_verifications', 'projects', 'photos', 'photo_variants', 'transformations'])
			expect(before.some((hit) => hit.startsWith(`${table}.`))).toBe(true)
		for (const table of [
			'credit_ledger',
			'purchases',
			'subscriptions',
			'custom_styles',
			'audit_events',
			'data_exports',
			'webhook_events',
			'rate_limits',
		])
			expect(before.some((hit) => hit.startsWith(`${table}.`))).toBe(true)

		const job = await confirmThroughRoute(me)
		await accountDelete(job)
		await webhooksSettled()

		// Stripe: the plan cancelled, the customer deleted; the other user's customer untouched.
		expect(fake.customers.get(me.customerId)?.deleted).toBe(true)
		expect([...fake.subscriptions.values()].filter((s) => s.customer === me.customerId).map((s) => s.status)).toEqual(['canceled'])
		expect(fake.customers.get(other.customerId)?.deleted).toBeUndefined()
		expect([...fake.subscriptions.values()].filter((s) => s.customer === other.customerId).map((s) => s.status)).toEqual(['active'])
		expect(fake.requests.some((r) => r.method === 'DELETE' && r.path === `/v1/customers/${me.customerId}`)).toBe(true)

		// Stripe keeps talking about the deleted customer (its email, our user id in metadata): the sweeps remove that.
		await fake.emit('customer.deleted', { ...fake.customers.get(me.customerId)! })
		await webhooksSettled()
		expect((await scanDatabase([me.id, me.email])).some((hit) => hit.startsWith('webhook_events.'))).toBe(true)
		await runSweeps(me.id, me.customerId)

		await expectNothingLeftOf(me)
		const farewell = (await queuedEmailsTo(me.email)).filter((m) => m.subject === 'Votre compte Renzo a été supprimé')
		expect(farewell).toHaveLength(1)
		const [trace] = await privileged().auditEvent.findMany({ where: { type: 'account.deleted' }, orderBy: { createdAt: 'desc' }, take: 1 })
		expect(trace).toMatchObject({ userId: null, ipHash: null, data: { forfeitedCredits: expect.any(Number), stripeCustomer: 'deleted' } })

		// The other user: same files, same rows, still logged in.
		expect((await listStorage()).filter((key) => key.includes(other.id))).toEqual(otherKeys)
		const otherAfter = await rowsOf(other.id)
		expect(otherAfter.counts).toEqual(otherRows.counts)
		expect(otherAfter.user).toEqual(otherRows.user)
		expect(
			(await call(() => settingsLoader({ request: makeRequest('/settings', { jar: other.jar }), params: {}, context: ctx }))).status,
		).toBe(200)
		for (const key of otherKeys.filter((k) => /\.(jpg|webp|zip)$/.test(k))) expect(await getStorage().exists(key)).toBe(true)
	})

	test('a job killed between any two steps and run again completes; a late object is swept; running it once more is harmless', async () => {
		const me = await agentWithEverything()
		const job = await confirmThroughRoute(me)
		const deletedBefore = await privileged().auditEvent.count({ where: { type: 'account.deleted' } })
		const killedAfter = (step: EraseStep) => ({
			onStep: (done: EraseStep) => {
				if (done === step) throw new Error(`killed after ${step}`)
			},
		})
		const mine = async () => (await listStorage()).filter((key) => key.includes(me.id) && /\.\w+$/.test(key))

		await expect(eraseAccount(job, killedAfter('work'))).rejects.toThrow('killed after work')
		expect(await privileged().transformation.count({ where: { userId: me.id, status: { in: ['queued', 'processing'] } } })).toBe(0)
		await expect(eraseAccount(job, killedAfter('stripe'))).rejects.toThrow('killed after stripe')
		expect(fake.customers.get(me.customerId)?.deleted).toBe(true)
		expect((await mine()).length).toBeGreaterThan(0)
		await expect(eraseAccount(job, killedAfter('storage'))).rejects.toThrow('killed after storage')
		expect(await mine()).toEqual([])
		expect(await privileged().user.findUnique({ where: { id: me.id } })).not.toBeNull()
		await expect(eraseAccount(job, killedAfter('rows'))).rejects.toThrow('killed after rows')
		expect(await privileged().user.findUnique({ where: { id: me.id } })).toBeNull()

		// A job still running during the erasure (a result being stored) writes after it: the next run sweeps it.
		const late = storageKeys.transformed(me.id, me.projectId, crypto.randomUUID(), 'jpg')
		await getStorage().put(late, Buffer.from('late result'), { contentType: 'image/jpeg' })
		await eraseAccount(job)
		expect(await getStorage().exists(late)).toBe(false)
		await eraseAccount(job)

		await webhooksSettled()
		await runSweeps(me.id, me.customerId)
		await expectNothingLeftOf(me)
		// One erasure: one anonymous trace, one farewell email.
		expect(await privileged().auditEvent.count({ where: { type: 'account.deleted' } })).toBe(deletedBefore + 1)
		expect((await queuedEmailsTo(me.email)).filter((m) => m.subject === 'Votre compte Renzo a été supprimé')).toHaveLength(1)
	})
})
