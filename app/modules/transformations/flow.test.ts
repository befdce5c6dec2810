import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { loader as filesLoader } from '#app/routes/resources+/files.$.tsx'
import { action as webhookAction } from '#app/routes/webhooks+/replicate.ts'
import { startReplicateFake, type ReplicateFake } from '#tests/fakes/replicate.ts'
import { startAppServer } from '#tests/utils/app-server.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { readyPhoto } from '#tests/utils/photos.ts'
import { startWorker } from '#worker/start.ts'
import { orderSchema, type Order } from './catalog.ts'
import { OrderError, creditReference, orderTransformations } from './order.server.ts'
import { cancelTransformation, completeFromWebhook, reconcileTransformations } from './run.server.ts'
import { until } from '#tests/utils/until.ts'

// The whole flow with real parts: the Replicate fake over HTTP, the app's webhook and file routes
// served over HTTP (the fake fetches the signed input image and posts signed webhooks there),
// pg-boss jobs run by the real worker code in this process, the ledger in Postgres.

let fake: ReplicateFake
let app: Awaited<ReturnType<typeof startAppServer>>
let worker: Awaited<ReturnType<typeof startWorker>> | undefined

beforeAll(async () => {
	fake = await startReplicateFake()
	app = await startAppServer([
		{ method: 'POST', pattern: /^\/webhooks\/replicate$/, handler: webhookAction },
		{ method: 'GET', pattern: /^\/resources\/files\//, handler: filesLoader },
	])
	Object.assign(process.env, {
		APP_URL: app.url,
		REPLICATE_API_TOKEN: fake.token,
		REPLICATE_BASE_URL: fake.baseUrl,
		REPLICATE_WEBHOOK_SECRET: fake.webhookSecret,
		TRANSFORMATION_RECONCILE_AFTER_SECONDS: '1',
	})
	reloadEnv()
})

afterAll(async () => {
	await worker?.stop(5_000)
	await fake?.close()
	await app?.close()
})

/** The worker serves the transformation queues from the first test that needs it on. */
async function runWorker() {
	worker ??= await startWorker({ queues: ['transformation-run', 'transformation-local', 'transformation-complete'] })
}

async function setup(credits = 20) {
	const user = await loggedInUser()
	const project = await privileged().project.create({ data: { userId: user.id, name: 'Appartement Lyon 6e' }, select: { id: true } })
	const balance = (await privileged().user.findUniqueOrThrow({ where: { id: user.id } })).creditBalance
	if (credits > balance)
		await grant(privileged(), {
			userId: user.id,
			credits: credits - balance,
			reason: 'admin_adjustment',
			idempotencyKey: `test:${user.id}`,
		})
	return { user, projectId: project.id }
}

function order(input: Partial<Order> & { photoIds: string[] }): Order {
	return orderSchema.parse({ kind: 'virtual_staging', style: 'scandinavian', ...input })
}

const transformation = (id: string) =>
	privileged().transformation.findUniqueOrThrow({
		where: { id },
		select: { status: true, errorCode: true, outputKey: true, predictionId: true, outputWidth: true, userId: true },
	})
/** One photo ordered by a fresh user (10 credits), its prediction behaving as `behaviour` at the fake. */
async function orderOne(behaviour: Parameters<ReplicateFake['next']>[0]) {
	await runWorker()
	const { user, projectId } = await setup(10)
	const photoId = await readyPhoto(user.id, projectId)
	fake.next(behaviour)
	const { ids } = await orderTransformations(user.id, projectId, order({ photoIds: [photoId] }))
	return { user, id: ids[0]! }
}

/** The transformation once its prediction was created at the provider (its id stored). */
const predicted = (id: string) =>
	until(
		'the prediction',
		() => transformation(id),
		(t) => t.predictionId !== null,
	)
/** Resolves once the fake provider finished the prediction (its webhook may or may not follow). */
const succeededAtProvider = (predictionId: string) =>
	until(
		'the prediction to finish',
		async () => fake.predictions.get(predictionId)?.status,
		(s) => s === 'succeeded',
	)
const finished = (id: string) =>
	until(
		`transformation ${id}`,
		() => transformation(id),
		(t) => ['succeeded', 'failed', 'canceled'].includes(t.status),
	)
const movements = (id: string) =>
	privileged().creditLedger.findMany({
		where: { reference: creditReference(id) },
		orderBy: { seq: 'asc' },
		select: { reason: true, delta: true },
	})
const balanceOf = async (userId: string) => (await privileged().user.findUniqueOrThrow({ where: { id: userId } })).creditBalance

describe('ordering', () => {
	test('a batch bigger than the balance is refused whole: no row, no reservation, no job', async () => {
		const { user, projectId } = await setup(10)
		// 20 photos at 1 credit (day to dusk, Standard) on a balance of 10.
		const photoIds: string[] = []
		for (let i = 0; i < 20; i++) photoIds.push(await readyPhoto(user.id, projectId))
		const countJobs = async () =>
			Number((await privileged().$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pgboss.job WHERE name = 'transformation-run'`)[0]!.n)
		const jobsBefore = await countJobs()
		const error = await orderTransformations(user.id, projectId, order({ kind: 'day_to_dusk', photoIds })).catch((e: unknown) => e)
		expect(error).toBeInstanceOf(OrderError)
		expect((error as OrderError).code).toBe('insufficient_credits')
		expect((error as OrderError).vars).toMatchObject({ needed: 20, balance: 10 })
		expect(await privileged().transformation.count({ where: { userId: user.id } })).toBe(0)
		expect(await privileged().creditLedger.count({ where: { userId: user.id, reason: 'reservation' } })).toBe(0)
		expect(await countJobs()).toBe(jobsBefore)
		// The same batch cut to what the balance covers goes through whole.
		await orderTransformations(user.id, projectId, order({ kind: 'day_to_dusk', photoIds: photoIds.slice(0, 10) }))
		expect(await countJobs()).toBe(jobsBefore + 10)
		expect(await balanceOf(user.id)).toBe(0)
		const rows = await privileged().transformation.findMany({ where: { userId: user.id }, select: { id: true } })
		for (const row of rows) await cancelTransformation(user.id, row.id)
		expect(await balanceOf(user.id)).toBe(10)
	})

	test('20 concurrent orders on a balance that covers 10 → exactly 10 accepted, balance 0', async () => {
		const { user, projectId } = await setup(10)
		const photoId = await readyPhoto(user.id, projectId)
		const results = await Promise.allSettled(
			Array.from({ length: 20 }, () => orderTransformations(user.id, projectId, order({ kind: 'day_to_dusk', photoIds: [photoId] }))),
		)
		const accepted = results.filter((r) => r.status === 'fulfilled')
		const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
		expect(refused.filter((r) => !(r.reason instanceof OrderError)).map((r) => String(r.reason))).toEqual([])
		expect(accepted).toHaveLength(10)
		expect(refused.every((r) => r.reason instanceof OrderError && r.reason.code === 'insufficient_credits')).toBe(true)
		expect(await balanceOf(user.id)).toBe(0)
		expect(await privileged().transformation.count({ where: { userId: user.id } })).toBe(10)
		// Cancel them (nothing serves the queue yet): every credit comes back exactly once.
		const rows = await privileged().transformation.findMany({ where: { userId: user.id }, select: { id: true } })
		for (const row of rows) expect(await cancelTransformation(user.id, row.id)).toBe(true)
		for (const row of rows) expect(await cancelTransformation(user.id, row.id)).toBe(false)
		expect(await balanceOf(user.id)).toBe(10)
	})

	test('cancel while queued → cancelled, released once; another user can neither cancel nor order on it', async () => {
		const { user, projectId } = await setup(10)
		const other = await setup(10)
		const photoId = await readyPhoto(user.id, projectId)
		const { ids } = await orderTransformations(user.id, projectId, order({ photoIds: [photoId] }))
		const id = ids[0]!
		expect(await cancelTransformation(other.user.id, id)).toBe(false)
		const refused = await orderTransformations(other.user.id, other.projectId, order({ photoIds: [photoId] })).catch((e: unknown) => e)
		expect((refused as OrderError).code).toBe('not_found')
		const intoMine = await orderTransformations(other.user.id, projectId, order({ photoIds: [photoId] })).catch((e: unknown) => e)
		expect((intoMine as OrderError).code).toBe('not_found')
		expect(await cancelTransformation(user.id, id)).toBe(true)
		expect((await transformation(id)).status).toBe('canceled')
		expect(await movements(id)).toEqual([
			{ reason: 'reservation', delta: -2 },
			{ reason: 'release', delta: 2 },
		])
		expect(await balanceOf(other.user.id)).toBe(10)
	})
})

describe('running', () => {
	test('the whole flow: prediction with webhook → result stored → succeeded, one reserve and one capture', async () => {
		await runWorker()
		const { user, projectId } = await setup(10)
		const photoId = await readyPhoto(user.id, projectId)
		const { ids } = await orderTransformations(user.id, projectId, order({ photoIds: [photoId], disclosureLabel: true }))
		const id = ids[0]!
		const done = await finished(id)
		expect(done).toMatchObject({ status: 'succeeded', errorCode: null })
		expect(await movements(id)).toEqual([
			{ reason: 'reservation', delta: -2 },
			{ reason: 'capture', delta: 0 },
		])
		expect(await balanceOf(user.id)).toBe(8)
		// The model was asked with our signed preview URL and our webhook; the webhook was accepted.
		const prediction = fake.predictions.get(done.predictionId!)!
		expect(String(prediction.input.input_image)).toMatch(new RegExp(`^${app.url}/resources/files/${user.id}/previews/`))
		expect(prediction.webhook).toBe(`${app.url}/webhooks/replicate`)
		expect(fake.webhooksSent.filter((w) => w.predictionId === done.predictionId).map((w) => w.status)).toEqual([204])
		// Stored result (captioned → JPEG) and its variants, under the user's and project's prefixes.
		const { getStorage } = await import('#app/modules/storage/storage.server.ts')
		expect(done.outputKey).toBe(`${user.id}/transformed/${projectId}/${id}.jpg`)
		expect(await getStorage().exists(done.outputKey!)).toBe(true)
		const variants = await privileged().photoVariant.findMany({ where: { transformationId: id }, select: { kind: true } })
		expect(variants.map((v) => v.kind).sort()).toEqual(['preview', 'thumbnail'])
	})

	test('backpressure: past TRANSFORMATION_MAX_IN_FLIGHT new predictions wait; each one that ends lets exactly one more start', async () => {
		await runWorker()
		const { user, projectId } = await setup(20)
		const photoIds = await Promise.all([1, 2, 3, 4].map(() => readyPhoto(user.id, projectId)))
		// Room for two more than what earlier tests left in flight.
		const [{ n: already } = { n: 0 }] = await privileged().$queryRaw<{ n: number }[]>`
			SELECT count(*)::int AS n FROM transformations WHERE status = 'processing' AND prediction_id IS NOT NULL`
		process.env.TRANSFORMATION_MAX_IN_FLIGHT = String(already + 2)
		reloadEnv()
		try {
			fake.next({ kind: 'slow' }, { kind: 'slow' }, { kind: 'slow' }, { kind: 'slow' })
			const ids: string[] = []
			const started = async () => (await Promise.all(ids.map(transformation))).filter((t) => t.predictionId !== null)
			const settle = () => new Promise((resolve) => setTimeout(resolve, 1_000))
			ids.push(...(await orderTransformations(user.id, projectId, order({ photoIds: photoIds.slice(0, 2) }))).ids)
			await until('two predictions', started, (list) => list.length === 2)
			// Full: two more wait (their jobs poll the count every 200 ms), still two a second later.
			ids.push(...(await orderTransformations(user.id, projectId, order({ photoIds: photoIds.slice(2) }))).ids)
			await settle()
			const first = await started()
			expect(first).toHaveLength(2)
			// One ends: exactly one of the two waiting starts.
			await fake.complete(first[0]!.predictionId!)
			await until('a third prediction', started, (list) => list.length === 3)
			await settle()
			expect(await started()).toHaveLength(3)
			await fake.complete(first[1]!.predictionId!)
			await until('the fourth prediction', started, (list) => list.length === 4)
			for (const t of (await started()).slice(2)) await fake.complete(t.predictionId!)
			for (const id of ids) expect((await finished(id)).status).toBe('succeeded')
		} finally {
			delete process.env.TRANSFORMATION_MAX_IN_FLIGHT
			reloadEnv()
		}
	}, 60_000)

	test('a webhook delivered twice → one capture, one stored event', async () => {
		await runWorker()
		const { user, projectId } = await setup(10)
		const photoId = await readyPhoto(user.id, projectId)
		fake.next('webhook-twice')
		const { ids } = await orderTransformations(user.id, projectId, order({ photoIds: [photoId] }))
		const done = await finished(ids[0]!)
		expect(done.status).toBe('succeeded')
		await until(
			'second delivery',
			async () => fake.webhooksSent.filter((w) => w.predictionId === done.predictionId).length,
			(n) => n >= 2,
		)
		const deliveries = fake.webhooksSent.filter((w) => w.predictionId === done.predictionId)
		expect(new Set(deliveries.map((w) => w.webhookId)).size).toBe(1)
		expect(deliveries.every((w) => w.status === 204)).toBe(true)
		expect(await privileged().webhookEvent.count({ where: { provider: 'replicate', id: deliveries[0]!.webhookId } })).toBe(1)
		expect((await movements(ids[0]!)).map((m) => m.reason)).toEqual(['reservation', 'capture'])
	})

	test('a webhook with a bad signature → 401, nothing changes; the reconcile job completes it', async () => {
		const { id } = await orderOne('bad-signature')
		const started = await predicted(id)
		await until('the webhook attempt', async () => fake.webhooksSent.find((w) => w.predictionId === started.predictionId), Boolean)
		const delivery = fake.webhooksSent.find((w) => w.predictionId === started.predictionId)!
		expect(delivery.status).toBe(401)
		expect(await privileged().webhookEvent.count({ where: { id: delivery.webhookId } })).toBe(0)
		expect((await transformation(id)).status).toBe('processing')
		expect((await movements(id)).map((m) => m.reason)).toEqual(['reservation'])
		const result = await reconcileTransformations(new Date(Date.now() + 2_000))
		expect(result.completed).toBeGreaterThanOrEqual(1)
		expect((await transformation(id)).status).toBe('succeeded')
		expect((await movements(id)).map((m) => m.reason)).toEqual(['reservation', 'capture'])
	})

	test('a webhook that never comes → the reconcile job completes it, captured once', async () => {
		const { id } = await orderOne('no-webhook')
		const started = await predicted(id)
		await succeededAtProvider(started.predictionId!)
		expect((await transformation(id)).status).toBe('processing')
		await reconcileTransformations(new Date(Date.now() + 2_000))
		await reconcileTransformations(new Date(Date.now() + 2_000))
		expect((await transformation(id)).status).toBe('succeeded')
		expect((await movements(id)).map((m) => m.reason)).toEqual(['reservation', 'capture'])
	})

	test('a webhook that overtakes the stored prediction id (an instant model) still completes it', async () => {
		const { id } = await orderOne('no-webhook')
		const { predictionId } = await predicted(id)
		await succeededAtProvider(predictionId!)
		// As if the worker had not stored the id yet when the completion job ran: it comes 300 ms later.
		await privileged().transformation.update({ where: { id }, data: { predictionId: null } })
		const stored = new Promise((resolve) => setTimeout(resolve, 300)).then(() =>
			privileged().transformation.update({ where: { id }, data: { predictionId } }),
		)
		await completeFromWebhook(predictionId!, null)
		await stored
		expect((await transformation(id)).status).toBe('succeeded')
		expect((await movements(id)).map((m) => m.reason)).toEqual(['reservation', 'capture'])
	})

	test('a model failure → failed with the reason, credits released once', async () => {
		await runWorker()
		const { user, projectId } = await setup(10)
		const photoId = await readyPhoto(user.id, projectId)
		fake.next('failed', { kind: 'failed', error: 'CUDA out of memory' })
		const { ids } = await orderTransformations(user.id, projectId, order({ photoIds: [photoId, await readyPhoto(user.id, projectId)] }))
		// Which job creates its prediction first is not fixed: compare the set of outcomes.
		const outcomes = await Promise.all(ids.map((id) => finished(id)))
		expect(outcomes.map((t) => `${t.status}:${t.errorCode}`).sort()).toEqual(['failed:content_refused', 'failed:model_failed'])
		for (const id of ids)
			expect(await movements(id)).toEqual([
				{ reason: 'reservation', delta: -2 },
				{ reason: 'release', delta: 2 },
			])
		expect(await balanceOf(user.id)).toBe(10)
	})

	test('an output that 404s or is not an image → failed (output_unusable), released, nothing stored', async () => {
		await runWorker()
		const { user, projectId } = await setup(10)
		fake.next('output-404', 'output-not-image')
		const photoIds = [await readyPhoto(user.id, projectId), await readyPhoto(user.id, projectId)]
		const { ids } = await orderTransformations(user.id, projectId, order({ kind: 'sky_replacement', photoIds }))
		for (const id of ids) {
			const done = await finished(id)
			expect([done.status, done.errorCode, done.outputKey]).toEqual(['failed', 'output_unusable', null])
			expect((await movements(id)).map((m) => m.reason)).toEqual(['reservation', 'release'])
		}
		const { getStorage } = await import('#app/modules/storage/storage.server.ts')
		const stored = []
		for await (const object of getStorage().list(`${user.id}/transformed/`)) stored.push(object.key)
		expect(stored).toEqual([])
	})

	test('cancel while processing → cancelled at the provider, released; the late result is not kept', async () => {
		const { user, id } = await orderOne('slow')
		const started = await predicted(id)
		expect(await cancelTransformation(user.id, id)).toBe(true)
		expect(fake.predictions.get(started.predictionId!)?.status).toBe('canceled')
		expect((await transformation(id)).status).toBe('canceled')
		expect((await movements(id)).map((m) => m.reason)).toEqual(['reservation', 'release'])
		expect(await balanceOf(user.id)).toBe(10)
	})

	test('a batch ordered with "email me" sends ONE email when its last transformation ends', async () => {
		await runWorker()
		const { user, projectId } = await setup(10)
		const photoIds = [await readyPhoto(user.id, projectId), await readyPhoto(user.id, projectId), await readyPhoto(user.id, projectId)]
		fake.next('success', 'failed', 'success')
		const { ids } = await orderTransformations(user.id, projectId, order({ kind: 'sky_replacement', photoIds, notifyByEmail: true }))
		await Promise.all(ids.map((id) => finished(id)))
		const { unseal } = await import('#app/utils/crypto.server.ts')
		const jobs = await privileged().$queryRaw<{ data: { sealed: string } }[]>`SELECT data FROM pgboss.job WHERE name = 'email-send'`
		const mails = jobs
			.map((job) => unseal<{ to: string; subject: string; text: string }>(job.data.sealed))
			.filter((mail) => mail.to === user.email)
		expect(mails).toHaveLength(1)
		expect(mails[0]!.subject).toBe('Vos photos sont prêtes — Appartement Lyon 6e')
		expect(mails[0]!.text).toContain('2 réussie(s), 1 en échec')
	})

	test('enhancement runs locally with Sharp (no AI): a real, full-size JPEG, captured', async () => {
		await runWorker()
		const { user, projectId } = await setup(10)
		const photoId = await readyPhoto(user.id, projectId)
		const { ids } = await orderTransformations(user.id, projectId, order({ kind: 'enhancement', photoIds: [photoId] }))
		const done = await finished(ids[0]!)
		expect(done.status).toBe('succeeded')
		expect(done.outputWidth).toBe(1200)
		expect(done.predictionId).toBeNull()
		expect((await movements(ids[0]!)).map((m) => m.reason)).toEqual(['reservation', 'capture'])
	})
})
