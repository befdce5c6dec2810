import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { orderSchema, type Kind, type Quality } from '#app/modules/transformations/catalog.ts'
import { creditReference, orderTransformations } from '#app/modules/transformations/order.server.ts'
import { loader as filesLoader } from '#app/routes/resources+/files.$.tsx'
import { action as webhookAction } from '#app/routes/webhooks+/replicate.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { startReplicateFake, type Behaviour, type ReplicateFake } from '#tests/fakes/replicate.ts'
import { startAppServer } from '#tests/utils/app-server.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { readyPhoto } from '#tests/utils/photos.ts'
import { until } from '#tests/utils/until.ts'

// kill -9 of the real worker process (`node --import tsx worker/index.ts`) in the middle of
// transformation jobs, 20 times in a row, a fresh worker each time; then one worker that stays
// until everything settles. Every transformation must end `succeeded` with exactly one capture,
// the balance must be down by exactly the cost, and storage must hold exactly the expected files.
//
// How a killed worker's jobs come back (pg-boss 12.38): they stay `active` until a supervise pass
// of a live worker finds their heartbeat_on older than heartbeatSeconds (10 s) and fails them into
// `retry` (then 5–10 s of retry delay). That check runs in the queue monitor, which pg-boss runs
// at most every `monitorIntervalSeconds` per queue (default 60 s; createBoss leaves it unset), and
// a worker's first supervise pass comes superviseIntervalSeconds (10 s) after it starts. The
// workers of the kill phase live < 3 s and never supervise, so every interrupted job waits for the
// final worker's first pass (~10 s after it is ready; recovery ~25 s in all). A job that pass
// missed would wait for the next monitor pass, 60 s later: hence the generous settle timeout.
//
// Each cycle orders a transformation before starting its worker, so that the kill lands in a job
// (a prediction being created at the slow fake API, an output being downloaded and stored, a local
// Sharp enhancement), and some predictions finish while no worker runs (their webhook is stored
// and enqueued by the app server in this process, for the next worker).
//
// Reproducible: CRASH_SEED (default below) seeds the kill delays, kinds, photos and behaviours.

const ROOT = path.resolve(import.meta.dirname, '../..')
const SEED = Number(process.env.CRASH_SEED ?? 20_250_917)
const KILLS = 20
const PHOTOS = 5
const API_LATENCY_MS = 600
const CREDITS = 200
const QUEUES = ['transformation-run', 'transformation-local', 'transformation-complete']
const SETTLE_TIMEOUT_MS = 120_000

/** mulberry32: a small seeded PRNG, the same sequence for the same seed. */
function random(seed: number) {
	let state = seed >>> 0
	return () => {
		state = (state + 0x6d2b79f5) >>> 0
		let t = state
		t = Math.imul(t ^ (t >>> 15), t | 1)
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
	}
}

type Worker = { child: ChildProcess; lines: string[]; exited: Promise<void>; ready: Promise<void> }

/** The real worker process, with this test file's database, storage, app URL and Replicate fake. */
function spawnWorker(): Worker {
	const child = spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
		cwd: ROOT,
		env: {
			...process.env,
			NODE_ENV: 'test',
			// info, not warn: the `worker ready` line is what kill delays are measured from.
			LOG_LEVEL: 'info',
			RUN_WORKER: 'false',
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	})
	const lines: string[] = []
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
	const ready = new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`worker not ready within 30 s:\n${lines.join('\n')}`)), 30_000)
		const collect = (chunk: Buffer) => {
			for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
				lines.push(line)
				if (line.includes('"msg":"worker ready"')) {
					clearTimeout(timer)
					resolve()
				}
			}
		}
		child.stdout!.on('data', collect)
		child.stderr!.on('data', collect)
		void exited.then(() => {
			clearTimeout(timer)
			reject(new Error(`worker exited before ready (code ${child.exitCode}, signal ${child.signalCode}):\n${lines.join('\n')}`))
		})
	})
	ready.catch(() => undefined)
	return { child, lines, exited, ready }
}

async function activeJobIds() {
	const rows = await privileged().$queryRaw<{ id: string; name: string }[]>`
		SELECT id::text, name FROM pgboss.job WHERE name = ANY(${QUEUES}) AND state = 'active'`
	return new Map(rows.map((row) => [row.id, row.name]))
}

async function unsettledJobs() {
	const rows = await privileged().$queryRaw<{ name: string; state: string; n: number }[]>`
		SELECT name, state::text, count(*)::int AS n FROM pgboss.job
		WHERE name = ANY(${QUEUES}) AND state IN ('created', 'retry', 'active')
		GROUP BY 1, 2`
	return rows
}

async function listKeys(prefix: string) {
	const keys: string[] = []
	for await (const object of getStorage().list(prefix)) keys.push(object.key)
	return keys
}

let fake: ReplicateFake
let app: Awaited<ReturnType<typeof startAppServer>>
const workers: Worker[] = []

beforeAll(async () => {
	fake = await startReplicateFake({ apiLatencyMs: API_LATENCY_MS })
	app = await startAppServer([
		{ method: 'POST', pattern: /^\/webhooks\/replicate$/, handler: webhookAction },
		{ method: 'GET', pattern: /^\/resources\/files\//, handler: filesLoader },
	])
	Object.assign(process.env, {
		APP_URL: app.url,
		REPLICATE_API_TOKEN: fake.token,
		REPLICATE_BASE_URL: fake.baseUrl,
		REPLICATE_WEBHOOK_SECRET: fake.webhookSecret,
	})
	reloadEnv()
})

afterAll(async () => {
	for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL')
	await Promise.all(workers.map((worker) => worker.exited))
	await fake?.close()
	await app?.close()
})

test(
	`kill -9 the worker ${KILLS} times mid-job → each transformation succeeded once, ledger exact, no orphan file`,
	{ timeout: 300_000 },
	async () => {
		const rng = random(SEED)
		const pick = <T>(values: readonly T[]) => values[Math.floor(rng() * values.length)]!
		const user = await loggedInUser()
		const { id: projectId } = await privileged().project.create({
			data: { userId: user.id, name: 'Maison Annecy-le-Vieux' },
			select: { id: true },
		})
		const welcome = (await privileged().user.findUniqueOrThrow({ where: { id: user.id } })).creditBalance
		await grant(privileged(), {
			userId: user.id,
			credits: CREDITS - welcome,
			reason: 'admin_adjustment',
			idempotencyKey: `test:${user.id}`,
		})
		const photoIds: string[] = []
		for (let i = 0; i < PHOTOS; i++) photoIds.push(await readyPhoto(user.id, projectId))

		const ordered: { id: string; kind: Kind; quality: Quality; cost: number }[] = []
		const kills: { cycle: number; delayMs: number; interrupted: string[] }[] = []
		const kinds: Kind[] = ['virtual_staging', 'declutter', 'day_to_dusk', 'sky_replacement', 'enhancement']
		const behaviours: Behaviour[] = ['success', 'success', { kind: 'slow', delayMs: 800 }, { kind: 'slow', delayMs: 2_500 }]

		for (let cycle = 0; cycle < KILLS; cycle++) {
			// Every fifth worker finds no new order: only retries-to-be and webhooks that came meanwhile.
			if (cycle % 5 !== 4) {
				const kind = pick(kinds)
				const quality: Quality = rng() < 0.25 ? 'hd' : 'standard'
				const order = orderSchema.parse({ kind, quality, style: 'scandinavian', photoIds: [pick(photoIds)] })
				const { ids, credits } = await orderTransformations(user.id, projectId, order)
				ordered.push({ id: ids[0]!, kind, quality, cost: credits })
			}
			fake.behave(pick(behaviours))
			const delayMs = 100 + Math.floor(rng() * 800)
			const before = await activeJobIds()
			const worker = spawnWorker()
			workers.push(worker)
			await worker.ready
			await new Promise((resolve) => setTimeout(resolve, delayMs))
			worker.child.kill('SIGKILL')
			await worker.exited
			const after = await activeJobIds()
			kills.push({ cycle, delayMs, interrupted: [...after].filter(([id]) => !before.has(id)).map(([, name]) => name) })
		}

		// The final worker: it stays until every transformation and every job has settled.
		fake.behave('success')
		const recoveryStarted = Date.now()
		const final = spawnWorker()
		workers.push(final)
		await final.ready
		const ids = ordered.map((t) => t.id)
		await until(
			`every transformation to finish (seed ${SEED})`,
			() => privileged().transformation.findMany({ where: { id: { in: ids } }, select: { id: true, status: true } }),
			(rows) => rows.every((row) => ['succeeded', 'failed', 'canceled'].includes(row.status)),
			{ timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 250 },
		)
		const recoveryMs = Date.now() - recoveryStarted
		// Late predictions (duplicates included) finish, their webhooks land, their jobs run.
		await until(
			'every prediction to finish',
			async () => [...fake.predictions.values()].map((p) => p.status),
			(s) => s.every((x) => ['succeeded', 'failed', 'canceled'].includes(x)),
			{ timeoutMs: 30_000, intervalMs: 250 },
		)
		await fake.settled()
		await until(`the transformation queues to drain (seed ${SEED})`, unsettledJobs, (rows) => rows.length === 0, {
			timeoutMs: SETTLE_TIMEOUT_MS,
			intervalMs: 250,
		})
		final.child.kill('SIGTERM')
		await final.exited
		expect(final.child.exitCode, 'the final worker drains and exits 0 on SIGTERM').toBe(0)
		const exhausted = await privileged().$queryRaw<{ n: number }[]>`
		SELECT count(*)::int AS n FROM pgboss.job WHERE name = ANY(${QUEUES}) AND state = 'failed'`
		expect(exhausted[0]!.n, 'jobs that ran out of retries').toBe(0)

		// 1. Every transformation succeeded, with its output where it belongs.
		const rows = await privileged().transformation.findMany({
			where: { id: { in: ids } },
			select: { id: true, status: true, errorCode: true, outputKey: true, predictionId: true, provider: true, attempts: true },
		})
		expect(rows.filter((row) => row.status !== 'succeeded').map((row) => `${row.id} ${row.status} ${row.errorCode}`)).toEqual([])
		for (const row of rows) expect(row.outputKey).toMatch(new RegExp(`^${user.id}/transformed/${projectId}/${row.id}\\.(jpg|png|webp)$`))

		// 2. Exactly one reservation and one capture per transformation, never a release.
		const ledger = await privileged().creditLedger.findMany({
			where: { userId: user.id, reference: { startsWith: 'transformation:' } },
			select: { reference: true, reason: true, delta: true },
		})
		for (const t of ordered)
			expect(
				ledger
					.filter((m) => m.reference === creditReference(t.id))
					.map((m) => `${m.reason}:${m.delta}`)
					.sort(),
				`ledger of ${t.id} (seed ${SEED})`,
			).toEqual(['capture:0', `reservation:${-t.cost}`])
		const cost = ordered.reduce((sum, t) => sum + t.cost, 0)
		expect(ledger.reduce((sum, m) => sum + m.delta, 0)).toBe(-cost)
		expect((await privileged().user.findUniqueOrThrow({ where: { id: user.id } })).creditBalance).toBe(CREDITS - cost)

		// 3. Storage holds the originals' variants and each result with its two variants, nothing else.
		const expected = [
			...photoIds.flatMap((id) => [
				storageKeys.variant(user.id, projectId, id, 'thumbnail'),
				storageKeys.variant(user.id, projectId, id, 'preview'),
			]),
			...rows.flatMap((row) => [
				row.outputKey!,
				storageKeys.variant(user.id, projectId, row.id, 'thumbnail'),
				storageKeys.variant(user.id, projectId, row.id, 'preview'),
			]),
		].sort()
		const stored = (
			await Promise.all([`${user.id}/transformed/`, `${user.id}/previews/`, `${user.id}/thumbnails/`].map((prefix) => listKeys(prefix)))
		)
			.flat()
			.sort()
		expect(stored).toEqual(expected)
		const variants = await privileged().photoVariant.findMany({ where: { transformationId: { in: ids } }, select: { key: true } })
		expect(variants.map((v) => v.key).sort()).toEqual(
			expected.filter((key) => !key.includes('/transformed/') && ids.some((id) => key.includes(id))),
		)
		// A kill in the middle of a local put leaves its temporary file behind (outside every user prefix).
		const tmp = path.join(process.env.STORAGE_DIR!, '.tmp')
		const partials = fs.existsSync(tmp) ? fs.readdirSync(tmp) : []

		// 4. Predictions: each Replicate transformation kept one that succeeded; a duplicate comes only
		// from a run job killed between the create request and storing its id, and changed nothing.
		const replicateRows = rows.filter((row) => row.provider === 'replicate')
		for (const row of replicateRows)
			expect(fake.predictions.get(row.predictionId ?? '')?.status, `prediction of ${row.id}`).toBe('succeeded')
		const kept = new Set(replicateRows.map((row) => row.predictionId))
		const duplicates = [...fake.predictions.keys()].filter((id) => !kept.has(id))
		const runInterruptions = kills.reduce((n, kill) => n + kill.interrupted.filter((name) => name !== 'transformation-complete').length, 0)
		expect(fake.predictions.size).toBeLessThanOrEqual(replicateRows.length + runInterruptions)
		expect(fake.webhooksSent.filter((w) => w.status !== 204).map((w) => `${w.predictionId} ${w.status} ${w.error}`)).toEqual([])
		expect(fake.errors).toEqual([])

		// 5. No worker logged an error.
		expect(workers.flatMap((w) => w.lines).filter((line) => line.includes('"level":"error"'))).toEqual([])

		const midJob = kills.filter((kill) => kill.interrupted.length > 0).length
		// The test is only worth something if the kills do land in jobs. Since completion trusts the
		// verified webhook body (no API re-read) jobs are shorter: API_LATENCY_MS keeps the window open.
		expect(midJob, `kills that interrupted a job (seed ${SEED})`).toBeGreaterThanOrEqual(5)
		console.log(
			JSON.stringify({
				seed: SEED,
				transformations: ordered.length,
				replicate: replicateRows.length,
				kills: KILLS,
				killsMidJob: midJob,
				interruptedJobs: kills.reduce((n, kill) => n + kill.interrupted.length, 0),
				runInterruptions,
				predictions: fake.predictions.size,
				duplicatePredictions: duplicates.length,
				attempts: rows.reduce((n, row) => n + row.attempts, 0),
				leftoverPartFiles: partials.length,
				recoveryMs,
				killLog: kills
					.map((kill) => `${kill.delayMs}:${kill.interrupted.map((n) => (n === 'transformation-complete' ? 'C' : 'R')).join('')}`)
					.join(' '),
			}),
		)
	},
)
