// Bench: a transformation from order to `succeeded` through the whole app path, with an instant
// provider, against a bare `SELECT … FOR UPDATE SKIP LOCKED` job loop on the same Postgres, both
// measured in this run. Goals (issue): enqueue→succeeded p50 <= 250 ms; >= 50 jobs/s sustained
// over 1,000 jobs. Never fails on a timing; fails when a job does not succeed (the measurement
// would be of something else).
//
// The app path: orderTransformations in this process (the ordering transaction: credits reserved,
// rows created, pg-boss jobs sent), the real worker process (`node --import tsx worker/index.ts`,
// production settings), which creates the prediction at the Replicate fake (HTTP, in this
// process); the fake fetches the signed preview from the production app server (server.ts, its
// own process) and posts its signed webhook there; the route stores the event and enqueues
// transformation-complete; the worker reads the prediction, downloads the output, stores it and
// its two variants (local storage, fsync), marks it succeeded and captures the credits. "Succeeded"
// is the moment the `succeeded` project event (pg_notify in that transaction) reaches a listener
// in this process: what a user's open page sees.
//
// Instant provider: the Replicate fake with no API latency and its `success` behaviour (webhook
// as soon as the output is made), on 160 × 120 photos, so the model costs ~nothing and the figure
// is the app's overhead. The fake keeps its connections to the app alive (as a proxy in front
// of the app does in production): a new connection per webhook and per input fetch is not a cost
// of ours. Not the local `enhancement`: it skips the provider, the webhook route
// and the second job, i.e. half of the path whose overhead the issue asks about.
//
// Baseline: `concurrency` loops (the transformation-run queue's), each on its own connection,
// claiming one row of a plain table with SELECT … FOR UPDATE SKIP LOCKED, marking it done and
// NOTIFYing in the same transaction; an idle loop waits for a NOTIFY from the enqueuer or 1 s
// (as the worker's pg-boss polling does). Same enqueue→done-notification measurement.
//
// - Latency: single jobs, spaced (each waits for the previous one, plus a pause), bare and app
//   alternated. p50 and p99 (nearest rank).
// - Throughput: `jobs` ordered in batches of `batch` photos (one order = one transaction) back to
//   back, from the first order to the last `succeeded`; bare: the same batches of rows.
//
// Settings (env): BENCH_TRANSFORMATION_SINGLES (100), BENCH_TRANSFORMATION_JOBS (1000),
// BENCH_TRANSFORMATION_BATCH (50).
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { queues } from '#app/modules/queue/catalog.ts'
import { startReplicateFake } from '#tests/fakes/replicate.ts'
import {
	appEnv,
	Cleanup,
	ensureBuild,
	intSetting,
	median,
	newAppConfig,
	processCpuSeconds,
	ROOT,
	startApp,
	startDatabase,
	stopChild,
	table,
} from './lib/harness.ts'
import { prepareOrdering } from './lib/ordering.ts'

export const GOAL_P50_MS = 250
export const GOAL_JOBS_PER_S = 50
const PROJECT_EVENTS = 'renzo_project_events'
const PAUSE_MS = 100
const SINGLE_TIMEOUT_MS = 60_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null)

/** Nearest-rank percentile. */
function percentile(values: number[], p: number) {
	const sorted = [...values].sort((a, b) => a - b)
	return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

/** When each id was seen done (ms, performance.now()), and a way to wait for them. */
class Completions {
	private readonly seen = new Map<string, number>()
	private readonly waiting = new Map<string, () => void>()
	private broken: string | undefined

	done(id: string, at = performance.now()) {
		if (this.seen.has(id)) return
		this.seen.set(id, at)
		this.waiting.get(id)?.()
		this.waiting.delete(id)
	}

	/** Ends every wait, now and later, with `reason` (a job failed, a process died). */
	fail(reason: string) {
		this.broken ??= reason
		for (const wake of this.waiting.values()) wake()
		this.waiting.clear()
	}

	async wait(ids: string[], timeoutMs: number) {
		const deadline = Date.now() + timeoutMs
		for (const id of ids) {
			if (this.broken) throw new Error(this.broken)
			if (this.seen.has(id)) continue
			const arrived = await Promise.race([
				new Promise<boolean>((resolve) => this.waiting.set(id, () => resolve(true))),
				sleep(Math.max(0, deadline - Date.now())).then(() => false),
			])
			if (this.broken) throw new Error(this.broken)
			if (!arrived)
				throw new Error(`${ids.filter((i) => !this.seen.has(i)).length} of ${ids.length} jobs not done within ${timeoutMs / 1000} s`)
		}
		return ids.map((id) => this.seen.get(id)!)
	}
}

/** The baseline: `concurrency` claim loops on a plain table, one connection each. */
async function startBareLoops(cleanup: Cleanup, url: string, concurrency: number, completions: Completions) {
	const setup = new pg.Client({ connectionString: url })
	await setup.connect()
	await setup.query(`
		CREATE TABLE bench_jobs (id bigserial PRIMARY KEY, state text NOT NULL DEFAULT 'queued', done_at timestamptz);
		CREATE INDEX bench_jobs_queued ON bench_jobs (id) WHERE state = 'queued';
	`)
	await setup.end()

	let wake: () => void = () => {}
	let woken = new Promise<void>((resolve) => (wake = resolve))
	const signal = () => {
		wake()
		woken = new Promise<void>((resolve) => (wake = resolve))
	}
	const listener = new pg.Client({ connectionString: url })
	await listener.connect()
	listener.on('notification', (message) => {
		if (message.channel === 'bench_jobs_new') signal()
		else if (message.channel === 'bench_jobs_done' && message.payload) completions.done(`bare:${message.payload}`)
	})
	await listener.query('LISTEN bench_jobs_new; LISTEN bench_jobs_done')

	let stopped = false
	const loops = await Promise.all(
		Array.from({ length: concurrency }, async () => {
			const client = new pg.Client({ connectionString: url })
			await client.connect()
			const run = (async () => {
				while (!stopped) {
					await client.query('BEGIN')
					const { rows } = await client.query<{ id: string }>(
						`SELECT id FROM bench_jobs WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`,
					)
					const id = rows[0]?.id
					if (id === undefined) {
						await client.query('COMMIT')
						await Promise.race([woken, sleep(1_000)])
						continue
					}
					await client.query(`UPDATE bench_jobs SET state = 'done', done_at = clock_timestamp() WHERE id = $1`, [id])
					await client.query(`SELECT pg_notify('bench_jobs_done', $1)`, [id])
					await client.query('COMMIT')
				}
			})()
			return { client, run }
		}),
	)
	const enqueuer = new pg.Client({ connectionString: url })
	await enqueuer.connect()
	cleanup.defer('stop the bare loops', async () => {
		stopped = true
		signal()
		await Promise.all(loops.map((loop) => loop.run.catch(() => {})))
		await Promise.all([...loops.map((loop) => loop.client), listener, enqueuer].map((client) => client.end().catch(() => {})))
	})
	return {
		/** Inserts `count` jobs and NOTIFYs the loops, in one transaction; returns their ids. */
		async enqueue(count: number) {
			await enqueuer.query('BEGIN')
			const { rows } = await enqueuer.query<{ id: string }>(
				`INSERT INTO bench_jobs (state) SELECT 'queued' FROM generate_series(1, $1) RETURNING id`,
				[count],
			)
			await enqueuer.query(`SELECT pg_notify('bench_jobs_new', '')`)
			await enqueuer.query('COMMIT')
			return rows.map((row) => `bare:${row.id}`)
		},
	}
}

/** The real worker process, production settings, its output kept (last 60 lines) for errors. */
function startWorkerProcess(cleanup: Cleanup, env: Record<string, string>) {
	const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
		cwd: ROOT,
		env: { ...process.env, ...env },
		stdio: ['ignore', 'pipe', 'pipe'],
	})
	cleanup.defer('stop the worker', () => stopChild(child))
	const output: string[] = []
	const keep = (chunk: Buffer) => {
		output.push(...chunk.toString('utf8').split('\n').filter(Boolean))
		if (output.length > 60) output.splice(0, output.length - 60)
	}
	child.stdout!.on('data', keep)
	child.stderr!.on('data', keep)
	return { child, output }
}

export default async function transformationsBench() {
	const singles = intSetting('BENCH_TRANSFORMATION_SINGLES', 100, 5, 1_000)
	const jobs = intSetting('BENCH_TRANSFORMATION_JOBS', 1_000, 50, 10_000)
	const batch = intSetting('BENCH_TRANSFORMATION_BATCH', 50, 1, 50)
	const concurrency = queues['transformation-run'].concurrency
	const cleanup = new Cleanup()
	try {
		ensureBuild()
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-bench-transformations-'))
		cleanup.defer('remove the temporary directory', () => fs.rmSync(dir, { recursive: true, force: true }))
		const storageDir = path.join(dir, 'storage')

		const fake = await startReplicateFake({ memoizeOutputs: true, keepAlive: true })
		cleanup.defer('stop the Replicate fake', () => fake.close())
		const db = await startDatabase(cleanup)
		const config = await newAppConfig(db.url)
		const env = {
			...appEnv(config),
			STORAGE_DIR: storageDir,
			S3_BUCKET: '',
			REPLICATE_API_TOKEN: fake.token,
			REPLICATE_BASE_URL: fake.baseUrl,
			REPLICATE_WEBHOOK_SECRET: fake.webhookSecret,
		}
		// The app migrates the database, then serves the webhook and signed-file routes.
		const app = await startApp(cleanup, config, { env })

		// This process orders, as the web process does; tiny photos, `batch` of them, one order each.
		const { privileged, user, photoIds, order } = await prepareOrdering(cleanup, {
			env,
			appUrl: config.appUrl,
			label: 'bench',
			credits: 10 + (jobs + singles + 10), // day_to_dusk standard: 1 credit each
			photos: batch,
		})

		const completions = new Completions()
		const observer = new pg.Client({ connectionString: db.url })
		await observer.connect()
		cleanup.defer('close the event listener', () => observer.end().catch(() => {}))
		observer.on('notification', (message) => {
			const event = JSON.parse(message.payload ?? '{}') as { type?: string; id?: string; status?: string }
			if (event.type !== 'transformation' || !event.id) return
			if (event.status === 'succeeded') completions.done(event.id)
			else if (event.status === 'failed' || event.status === 'canceled') completions.fail(`transformation ${event.id} ${event.status}`)
		})
		await observer.query(`LISTEN ${PROJECT_EVENTS}`)
		const bare = await startBareLoops(cleanup, db.url, concurrency, completions)

		const worker = startWorkerProcess(cleanup, { ...env, LOG_LEVEL: 'warn' })
		// A process that dies ends the run at once (its last lines are in the error).
		let measuring = true
		cleanup.defer('stop watching the processes', () => {
			measuring = false
		})
		app.child.once('exit', (code) => measuring && completions.fail(`the app server exited (code ${code})`))
		worker.child.once('exit', (code) => measuring && completions.fail(`the worker exited (code ${code})`))
		/** Why jobs did not succeed: their states and error codes, and the worker's last lines. */
		const diagnose = async (ids: string[]) => {
			const appIds = ids.filter((id) => !id.startsWith('bare:'))
			const states = await privileged().transformation.groupBy({
				by: ['status', 'errorCode'],
				where: { id: { in: appIds } },
				_count: true,
			})
			const stuck = await privileged().transformation.findMany({
				where: { id: { in: appIds }, status: { in: ['queued', 'processing'] } },
				select: { id: true, status: true, predictionId: true },
				take: 5,
			})
			const predictions = stuck.map((row) => {
				const prediction = fake.predictions.get(row.predictionId ?? '')
				const webhooks = fake.webhooksSent.filter((w) => w.predictionId === row.predictionId).map((w) => `${w.status ?? w.error}`)
				return `${row.id} ${row.status}: prediction ${row.predictionId} ${prediction?.status ?? '—'} ${prediction?.error ?? ''}, webhooks [${webhooks.join(', ')}]`
			})
			const exited = [
				app.child.exitCode !== null || app.child.signalCode !== null ? `the app server exited (code ${app.child.exitCode})` : '',
				worker.child.exitCode !== null || worker.child.signalCode !== null ? `the worker exited (code ${worker.child.exitCode})` : '',
			].filter(Boolean)
			return [
				...exited,
				`transformations: ${JSON.stringify(states)}`,
				...predictions,
				`fake errors: ${fake.errors.slice(-5).join(' | ')}`,
				`worker output:\n${worker.output.slice(-20).join('\n')}`,
				`app output:\n${app.output.slice(-20).join('\n')}`,
			].join('\n')
		}
		// Warm-up (and the worker's readiness): first jobs compile the code paths and open the pools.
		for (let i = 0; i < 5; i++) {
			const { ids } = await order([photoIds[i % photoIds.length]!])
			await completions.wait(ids, SINGLE_TIMEOUT_MS).catch(async (error: unknown) => {
				throw new Error(`warm-up job did not succeed: ${error instanceof Error ? error.message : String(error)}\n${await diagnose(ids)}`)
			})
			await completions.wait(await bare.enqueue(1), 10_000)
		}

		console.log(
			`transformations: order → succeeded (day_to_dusk on 160 × 120 photos, Replicate fake with no latency, worker process at ` +
				`concurrency ${concurrency}, production app for webhook + files) against ${concurrency} bare SKIP LOCKED loops; ` +
				`${singles} single jobs each (alternated, ${PAUSE_MS} ms apart), then ${jobs} jobs in orders of ${batch}`,
		)
		const latency = { bare: [] as number[], app: [] as number[], order: [] as number[] }
		for (let i = 0; i < singles; i++) {
			let started = performance.now()
			const [bareId] = await bare.enqueue(1)
			latency.bare.push((await completions.wait([bareId!], 10_000))[0]! - started)
			await sleep(PAUSE_MS)
			started = performance.now()
			const { ids } = await order([photoIds[i % photoIds.length]!])
			latency.order.push(performance.now() - started)
			const [done] = await completions.wait(ids, SINGLE_TIMEOUT_MS).catch(async (error: unknown) => {
				throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await diagnose(ids)}`)
			})
			latency.app.push(done! - started)
			await sleep(PAUSE_MS)
			if ((i + 1) % 25 === 0)
				console.log(
					`  singles ${i + 1}/${singles}: app p50 ${median(latency.app).toFixed(0)} ms, bare p50 ${median(latency.bare).toFixed(1)} ms`,
				)
		}

		/** `jobs` in batches back to back; jobs/s from the first enqueue to the last done. */
		const sustained = async (target: 'bare' | 'app') => {
			const ids: string[] = []
			const cpuBefore = { worker: processCpuSeconds(worker.child.pid), app: processCpuSeconds(app.child.pid) }
			const started = performance.now()
			for (let n = 0; n < jobs; n += batch) {
				const size = Math.min(batch, jobs - n)
				ids.push(...(target === 'bare' ? await bare.enqueue(size) : (await order(photoIds.slice(0, size))).ids))
			}
			const enqueuedMs = performance.now() - started
			const done = await completions.wait(ids, Math.max(300_000, jobs * 1_000)).catch(async (error: unknown) => {
				throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await diagnose(ids)}`)
			})
			const ms = Math.max(...done) - started
			// The middle 80 %: the rate once the pipeline is full and before it drains.
			const sorted = [...done].sort((a, b) => a - b)
			const tenth = sorted[Math.floor(jobs * 0.1)]!
			const ninetieth = sorted[Math.floor(jobs * 0.9) - 1]!
			const cpu = {
				worker: (1000 * (processCpuSeconds(worker.child.pid) - cpuBefore.worker)) / jobs,
				app: (1000 * (processCpuSeconds(app.child.pid) - cpuBefore.app)) / jobs,
			}
			const result = {
				jobsPerS: jobs / (ms / 1000),
				middleJobsPerS: (Math.floor(jobs * 0.9) - Math.floor(jobs * 0.1) - 1) / ((ninetieth - tenth) / 1000),
				ms,
				enqueuedMs,
				cpuMsPerJob: target === 'app' ? cpu : null,
			}
			console.log(
				`  ${target.padEnd(4)} ${jobs} jobs: ${result.jobsPerS.toFixed(1)} jobs/s (middle 80 %: ${result.middleJobsPerS.toFixed(1)}), ` +
					`${(ms / 1000).toFixed(1)} s, enqueued in ${(enqueuedMs / 1000).toFixed(1)} s`,
			)
			return result
		}
		const throughput = { bare: await sustained('bare'), app: await sustained('app') }

		// Every ordered transformation succeeded, captured once: else the figures measured failures.
		const rows = await privileged().transformation.groupBy({ by: ['status'], where: { userId: user.id }, _count: true })
		const captures = await privileged().creditLedger.count({ where: { userId: user.id, reason: 'capture' } })
		const ordered = 5 + singles + jobs
		const succeeded = rows.find((row) => row.status === 'succeeded')?._count ?? 0
		if (succeeded !== ordered || captures !== ordered)
			throw new Error(`expected ${ordered} succeeded and captured, got ${JSON.stringify(rows)} and ${captures} captures`)
		const duplicates = fake.predictions.size - ordered
		const warnings = worker.output.filter((line) => line.includes('"level":"warn"') || line.includes('"level":"error"'))
		// Webhooks the app did not take (429 from the per-IP budget, timeouts): those predictions waited
		// for the reconcile job (a minute or more), which the jobs/s figure then measures.
		const refusedWebhooks = new Map<string, number>()
		for (const delivery of fake.webhooksSent.filter((w) => w.status !== 204)) {
			const answer = String(delivery.status ?? delivery.error)
			refusedWebhooks.set(answer, (refusedWebhooks.get(answer) ?? 0) + 1)
		}
		const refusedWebhookCount = [...refusedWebhooks.values()].reduce((sum, n) => sum + n, 0)

		const stats = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) })
		const app50 = stats(latency.app)
		const bare50 = stats(latency.bare)
		const order50 = stats(latency.order)
		const latencyRatio = app50.p50 / bare50.p50
		const throughputRatioPct = (100 * throughput.app.jobsPerS) / throughput.bare.jobsPerS
		const verdict = (met: boolean) => (met ? 'met' : 'NOT met')
		console.log()
		console.log(
			table([
				['target', 'p50 ms', 'p99 ms', 'max ms', `jobs/s (${jobs})`, 'middle 80 % jobs/s'],
				[
					'bare',
					bare50.p50.toFixed(1),
					bare50.p99.toFixed(1),
					bare50.max.toFixed(1),
					throughput.bare.jobsPerS.toFixed(0),
					throughput.bare.middleJobsPerS.toFixed(0),
				],
				[
					'app',
					app50.p50.toFixed(0),
					app50.p99.toFixed(0),
					app50.max.toFixed(0),
					throughput.app.jobsPerS.toFixed(1),
					throughput.app.middleJobsPerS.toFixed(1),
				],
				['  of which ordering', order50.p50.toFixed(0), order50.p99.toFixed(0), order50.max.toFixed(0), '', ''],
			]),
		)
		console.log()
		console.log(
			`app enqueue→succeeded p50 ${app50.p50.toFixed(0)} ms (goal <= ${GOAL_P50_MS} ms: ${verdict(app50.p50 <= GOAL_P50_MS)}), ` +
				`p99 ${app50.p99.toFixed(0)} ms; ${latencyRatio.toFixed(0)}× the bare loop's p50 (${bare50.p50.toFixed(1)} ms)`,
		)
		console.log(
			`app sustained ${throughput.app.jobsPerS.toFixed(1)} jobs/s over ${jobs} (goal >= ${GOAL_JOBS_PER_S}: ${verdict(throughput.app.jobsPerS >= GOAL_JOBS_PER_S)}); ` +
				`${throughputRatioPct.toFixed(1)} % of the bare loop's ${throughput.bare.jobsPerS.toFixed(0)} jobs/s`,
		)
		if (throughput.app.cpuMsPerJob)
			console.log(
				`CPU per job: worker ${throughput.app.cpuMsPerJob.worker.toFixed(1)} ms, app server ${throughput.app.cpuMsPerJob.app.toFixed(1)} ms; ` +
					`${duplicates} duplicate predictions; ${warnings.length} worker warnings; ` +
					`${refusedWebhookCount} webhooks not answered 204${refusedWebhookCount ? ` ${JSON.stringify(Object.fromEntries(refusedWebhooks))}` : ''}`,
			)
		const summary = {
			bench: 'transformations',
			singles,
			jobs,
			batch,
			concurrency,
			latencyMs: {
				app: { p50: fixed(app50.p50, 1), p99: fixed(app50.p99, 1), max: fixed(app50.max, 1) },
				order: { p50: fixed(order50.p50, 1), p99: fixed(order50.p99, 1) },
				bare: { p50: fixed(bare50.p50, 2), p99: fixed(bare50.p99, 2), max: fixed(bare50.max, 2) },
			},
			jobsPerS: {
				app: fixed(throughput.app.jobsPerS, 2),
				appMiddle: fixed(throughput.app.middleJobsPerS, 2),
				bare: fixed(throughput.bare.jobsPerS, 1),
				bareMiddle: fixed(throughput.bare.middleJobsPerS, 1),
			},
			cpuMsPerJob: throughput.app.cpuMsPerJob && {
				worker: fixed(throughput.app.cpuMsPerJob.worker, 2),
				app: fixed(throughput.app.cpuMsPerJob.app, 2),
			},
			latencyRatio: fixed(latencyRatio, 1),
			throughputRatioPct: fixed(throughputRatioPct, 2),
			duplicatePredictions: duplicates,
			workerWarnings: warnings.length,
			webhooksNot204: refusedWebhookCount,
			goals: { p50Ms: GOAL_P50_MS, jobsPerS: GOAL_JOBS_PER_S },
			met: { p50: app50.p50 <= GOAL_P50_MS, jobsPerS: throughput.app.jobsPerS >= GOAL_JOBS_PER_S },
		}
		console.log(JSON.stringify(summary))
		return {
			name: 'transformations',
			line:
				`transformations: p50 ${app50.p50.toFixed(0)} ms (goal <= ${GOAL_P50_MS}), p99 ${app50.p99.toFixed(0)} ms, ${latencyRatio.toFixed(0)}× bare p50; ` +
				`${throughput.app.jobsPerS.toFixed(1)} jobs/s (goal >= ${GOAL_JOBS_PER_S}) = ${throughputRatioPct.toFixed(1)} % of bare SKIP LOCKED`,
			summary,
		}
	} finally {
		await cleanup.run()
	}
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	transformationsBench().then(
		() => process.exit(0),
		(error: unknown) => {
			console.error(error instanceof Error ? error.message : error)
			process.exit(1)
		},
	)
}
