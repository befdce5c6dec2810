// Diagnostic, not a bench (`npm run bench` does not run it): where do the CPU and the wall-clock
// time of bench/transformations.ts go? Same set-up (instant Replicate fake, production app for the
// webhook and the signed preview, the real worker process), then `jobs` ordered in batches back to
// back, and:
//   1. CPU milliseconds per job of every process on the path: worker, app server, Postgres (the
//      postmaster and its backends), and this process (ordering + the Replicate fake + listener);
//   2. completions per second over the run (the shape of the start and of the tail) and when the
//      last order was committed;
//   3. with PROFILE_WORKER_CPU_PROF=1 (or PROFILE_APP_CPU_PROF=1), a V8 CPU profile of the worker
//      (or of the app server) in PROFILE_OUT (default a temp dir), summarised by package/file and
//      function (self time). V8 samples on wall-clock time: read shares, not milliseconds.
// Run: node --import tsx bench/profile/transformations-profile.ts
// Settings (env): PROFILE_JOBS (1000), PROFILE_BATCH (50), PROFILE_WORKER_CPU_PROF (0), PROFILE_APP_CPU_PROF (0),
// PROFILE_SQL (0: the statements of one job, from the server log), PROFILE_PG_STATEMENTS (0: pg_stat_statements, time per statement), PROFILE_SQL_RUN (0: statements per job over the sustained run, by kind), PROFILE_PERF (0: `perf record -a` over
// the sustained run, the worker with --perf-basic-prof; read it with perf report --pid), PROFILE_OUT.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { startReplicateFake } from '#tests/fakes/replicate.ts'
import {
	appEnv,
	Cleanup,
	ensureBuild,
	intSetting,
	newAppConfig,
	processCpuSeconds,
	ROOT,
	startApp,
	startDatabase,
	stopChild,
	table,
} from '../lib/harness.ts'
import { prepareOrdering } from '../lib/ordering.ts'
import { summariseProfile } from './cpu-profile.ts'

const jobs = intSetting('PROFILE_JOBS', 1_000, 10, 10_000)
const batch = intSetting('PROFILE_BATCH', 50, 1, 50)
const cpuProf = process.env.PROFILE_WORKER_CPU_PROF === '1'
const outDir = process.env.PROFILE_OUT || fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-tx-profile-'))
fs.mkdirSync(outDir, { recursive: true })

/** CPU seconds (user, system) of each thread of a process, summed by thread name (`node` is the main thread). */
function threadCpuSeconds(pid: number) {
	const byName = new Map<string, { user: number; system: number }>()
	for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
		let stat: string
		try {
			stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
		} catch {
			continue
		}
		const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '#')
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
		const entry = byName.get(name) ?? { user: 0, system: 0 }
		entry.user += Number(fields[11]) / 100
		entry.system += Number(fields[12]) / 100
		byName.set(name, entry)
	}
	return byName
}

/** CPU seconds of a process's children that have exited (cutime + cstime): Postgres backends that were closed. */
function exitedChildrenCpuSeconds(pid: number) {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
	return (Number(fields[13]) + Number(fields[14])) / 100
}

const cleanup = new Cleanup()
try {
	ensureBuild()
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-profile-transformations-'))
	cleanup.defer('remove the temporary directory', () => fs.rmSync(dir, { recursive: true, force: true }))
	const fake = await startReplicateFake({ memoizeOutputs: true, keepAlive: true })
	cleanup.defer('stop the Replicate fake', () => fake.close())
	const sqlLog: string[] = []
	let logging = false
	// PROFILE_PG_STATEMENTS=1: pg_stat_statements over the sustained run (execution and planning time per statement).
	const pgStatements = process.env.PROFILE_PG_STATEMENTS === '1'
	const db = await startDatabase(cleanup, {
		log: (line) => logging && sqlLog.push(...line.split('\n')),
		...(pgStatements ? { settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track_planning': 'on' } } : {}),
	})
	const config = await newAppConfig(db.url)
	const env = {
		...appEnv(config),
		STORAGE_DIR: path.join(dir, 'storage'),
		S3_BUCKET: '',
		REPLICATE_API_TOKEN: fake.token,
		REPLICATE_BASE_URL: fake.baseUrl,
		REPLICATE_WEBHOOK_SECRET: fake.webhookSecret,
		// Every webhook of the fake comes from 127.0.0.1: the per-IP budget (600/min by default) would
		// stop them after ~600 and leave the rest to the reconcile job. PROFILE_WEBHOOK_LIMIT=default keeps it.
		...(process.env.PROFILE_WEBHOOK_LIMIT === 'default' ? {} : { WEBHOOKS_PER_IP_PER_MINUTE: '1000000' }),
	}
	const appProf = process.env.PROFILE_APP_CPU_PROF === '1'
	const appArgs = [
		...(appProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(outDir, 'app')}`] : []),
		...(process.env.PROFILE_PERF === '1' ? ['--perf-basic-prof'] : []),
	]
	const app = await startApp(cleanup, config, { env, nodeArgs: appArgs })
	const { privileged, user, photoIds, order } = await prepareOrdering(cleanup, {
		env,
		appUrl: config.appUrl,
		label: 'profile',
		credits: jobs + 100,
		photos: batch,
	})

	const done = new Map<string, number>()
	let failed: string | undefined
	let wake = () => {}
	const observer = new pg.Client({ connectionString: db.url })
	await observer.connect()
	cleanup.defer('close the event listener', () => observer.end().catch(() => {}))
	observer.on('notification', (message) => {
		const event = JSON.parse(message.payload ?? '{}') as { type?: string; id?: string; status?: string }
		if (event.type !== 'transformation' || !event.id) return
		if (event.status === 'succeeded') done.set(event.id, performance.now())
		else if (event.status === 'failed' || event.status === 'canceled') failed = `${event.id} ${event.status}`
		wake()
	})
	await observer.query('LISTEN renzo_project_events')
	const waitFor = async (ids: string[], timeoutMs: number) => {
		const deadline = Date.now() + timeoutMs
		while (ids.some((id) => !done.has(id))) {
			if (failed) throw new Error(`a transformation ended ${failed}`)
			if (Date.now() > deadline) throw new Error(`${ids.filter((id) => !done.has(id)).length} jobs not done in time`)
			await new Promise<void>((resolve) => {
				wake = resolve
				setTimeout(resolve, 200)
			})
		}
	}

	const perf = process.env.PROFILE_PERF === '1'
	const workerArgs = [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${outDir}`] : []), ...(perf ? ['--perf-basic-prof'] : [])]
	const worker: ChildProcess = spawn(process.execPath, [...workerArgs, '--import', 'tsx', 'worker/index.ts'], {
		cwd: ROOT,
		env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
		stdio: ['ignore', 'inherit', 'inherit'],
	})
	cleanup.defer('stop the worker', () => stopChild(worker))
	for (let i = 0; i < 5; i++) await waitFor((await order([photoIds[i]!])).ids, 60_000)

	if (process.env.PROFILE_SQL === '1') {
		// The statements of ONE job, by process (application_name), from the server log.
		const admin = new pg.Client({ connectionString: db.url })
		await admin.connect()
		await admin.query(`ALTER SYSTEM SET log_statement = 'all'`)
		await admin.query(`ALTER SYSTEM SET log_line_prefix = '[%a] '`)
		await admin.query('SELECT pg_reload_conf()')
		await new Promise((resolve) => setTimeout(resolve, 500))
		logging = true
		await waitFor((await order([photoIds[7]!])).ids, 60_000)
		await new Promise((resolve) => setTimeout(resolve, 1500))
		logging = false
		await admin.query(`ALTER SYSTEM RESET log_statement`)
		await admin.query('SELECT pg_reload_conf()')
		await admin.end()
		const statements = sqlLog.filter((line) => /LOG:\s+(statement|execute)/.test(line))
		fs.writeFileSync(path.join(outDir, 'one-job.sql.log'), sqlLog.join('\n'))
		const byApp = new Map<string, number>()
		for (const line of statements) {
			const app = /^\[([^\]]*)\]/.exec(line)?.[1] || '?'
			byApp.set(app, (byApp.get(app) ?? 0) + 1)
		}
		console.log(`statements for one job (log in ${path.join(outDir, 'one-job.sql.log')}): ${JSON.stringify(Object.fromEntries(byApp))}`)
	}
	const postmaster = Number(fs.readFileSync(path.join(db.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
	const cpu = () => ({
		worker: processCpuSeconds(worker.pid),
		app: processCpuSeconds(app.child.pid),
		postgres: processCpuSeconds(postmaster) + exitedChildrenCpuSeconds(postmaster),
		bench: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
	})
	// Linux perf, every CPU, on-CPU samples only (unlike V8's profiler): where the CPU time goes, by process and symbol.
	const perfFile = path.join(outDir, 'perf.data')
	const recorder = perf ? spawn('perf', ['record', '-F', '499', '-a', '-o', perfFile], { stdio: 'ignore' }) : undefined
	if (recorder) await new Promise((resolve) => setTimeout(resolve, 1000))
	// PROFILE_SQL_RUN=1: every statement of the sustained run, counted per job by kind (logging costs CPU: counts, not times).
	const countRun = process.env.PROFILE_SQL_RUN === '1'
	if (countRun) await setStatementLog(db.url, true)
	sqlLog.length = 0
	logging = countRun
	const statements = pgStatements ? new pg.Client({ connectionString: db.url }) : undefined
	if (statements) {
		await statements.connect()
		await statements.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
		await statements.query('SELECT pg_stat_statements_reset()')
	}
	const before = cpu()
	const workerThreadsBefore = threadCpuSeconds(worker.pid!)
	const started = performance.now()
	const ids: string[] = []
	const orderMs: number[] = []
	for (let n = 0; n < jobs; n += batch) {
		const t = performance.now()
		ids.push(...(await order(photoIds.slice(0, Math.min(batch, jobs - n)))).ids)
		orderMs.push(performance.now() - t)
	}
	const enqueued = performance.now() - started
	try {
		await waitFor(ids, Math.max(300_000, jobs * 1_000))
	} catch (error) {
		const states = await privileged().transformation.groupBy({ by: ['status', 'errorCode'], where: { userId: user.id }, _count: true })
		const refused = fake.webhooksSent.filter((w) => w.status !== 204).map((w) => `${w.status ?? w.error}`)
		console.error(
			`states: ${JSON.stringify(states)}; webhooks not answered 204: ${refused.length} ${refused.slice(0, 5).join(', ')}; fake errors: ${fake.errors.slice(-3).join(' | ')}`,
		)
		throw error
	}
	const after = cpu()
	const workerThreadsAfter = threadCpuSeconds(worker.pid!)
	if (statements) {
		// Wall-clock milliseconds (lock waits included), over the whole run, per statement as Postgres normalises it.
		const { rows } = await statements.query<{ calls: string; exec: string; plan: string; query: string }>(`
			SELECT calls, round(total_exec_time)::text AS exec, round(total_plan_time)::text AS plan,
				left(regexp_replace(query, '\\s+', ' ', 'g'), 80) AS query
			FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 20`)
		console.log(table([['calls', 'exec ms', 'plan ms', 'statement'], ...rows.map((r) => [r.calls, r.exec, r.plan, r.query])]))
		await statements.end()
	}
	if (countRun) {
		logging = false
		await setStatementLog(db.url, false)
		const kinds = new Map<string, number>()
		// A statement spans several log lines: the ones that do not start with `[app]` continue the previous one.
		const entries: string[] = []
		for (const line of sqlLog) {
			if (line.startsWith('[') || entries.length === 0) entries.push(line)
			else entries[entries.length - 1] += ` ${line.trim()}`
		}
		for (const line of entries) {
			const statement = /LOG:\s+(?:statement|execute [^:]*):\s*(.*)$/.exec(line)?.[1]
			if (statement === undefined) continue
			const app = /^\[([^\]]*)\]/.exec(line)?.[1] || '?'
			const queue = /j\.name = '([^']+)'/.exec(line)?.[1]
			const kind = queue ? `pg-boss fetch ${queue}` : statement.trim().replace(/\s+/g, ' ').slice(0, 60)
			kinds.set(`${app} ${kind}`, (kinds.get(`${app} ${kind}`) ?? 0) + 1)
		}
		const top = [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 40)
		console.log(table([['process / statement', 'per job'], ...top.map(([kind, n]) => [kind, (n / jobs).toFixed(2)])]))
		const total = [...kinds.values()].reduce((a, b) => a + b, 0)
		console.log(`statements per job: ${(total / jobs).toFixed(1)}`)
	}
	if (recorder) {
		recorder.kill('SIGINT')
		await new Promise((resolve) => recorder.once('exit', resolve))
		fs.writeFileSync(
			path.join(outDir, 'pids.json'),
			JSON.stringify({ worker: worker.pid, app: app.child.pid, bench: process.pid, postmaster }),
		)
		console.log(`perf data: ${perfFile} (pids in ${path.join(outDir, 'pids.json')})`)
	}
	const times = ids.map((id) => done.get(id)! - started).sort((a, b) => a - b)
	const total = times.at(-1)!
	console.log(
		`\n${jobs} jobs in orders of ${batch}: ${(jobs / (total / 1000)).toFixed(1)} jobs/s overall, ${(total / 1000).toFixed(1)} s; ` +
			`orders committed after ${(enqueued / 1000).toFixed(1)} s (per order: median ${[...orderMs].sort((a, b) => a - b)[orderMs.length >> 1]!.toFixed(0)} ms, max ${Math.max(...orderMs).toFixed(0)} ms)`,
	)
	const tenth = times[Math.floor(jobs * 0.1)]!
	const ninetieth = times[Math.floor(jobs * 0.9) - 1]!
	console.log(
		`middle 80 %: ${((Math.floor(jobs * 0.9) - Math.floor(jobs * 0.1) - 1) / ((ninetieth - tenth) / 1000)).toFixed(1)} jobs/s; first done at ${times[0]!.toFixed(0)} ms, 10 % at ${tenth.toFixed(0)} ms, 90 % at ${ninetieth.toFixed(0)} ms`,
	)
	const perSecond = new Map<number, number>()
	for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1)
	console.log(`completions per second: ${Array.from({ length: Math.floor(total / 1000) + 1 }, (_, s) => perSecond.get(s) ?? 0).join(' ')}`)
	// Where the pipeline stands each second: runs claimed (started_at), webhooks stored (received_at).
	const origin = new Date(Date.now() - (performance.now() - started))
	const stages = await privileged().$queryRaw<{ stage: string; second: number; n: number }[]>`
		SELECT 'claimed' AS stage, floor(extract(epoch FROM started_at - ${origin}::timestamptz))::int AS second, count(*)::int AS n
		FROM transformations WHERE user_id = ${user.id}::uuid AND started_at >= ${origin}::timestamptz GROUP BY 2
		UNION ALL
		SELECT 'webhooks', floor(extract(epoch FROM received_at - ${origin}::timestamptz))::int, count(*)::int
		FROM webhook_events WHERE provider = 'replicate' AND received_at >= ${origin}::timestamptz GROUP BY 2`
	for (const stage of ['claimed', 'webhooks'])
		console.log(
			`${stage} per second: ${Array.from({ length: Math.floor(total / 1000) + 1 }, (_, s) => stages.find((row) => row.stage === stage && row.second === s)?.n ?? 0).join(' ')}`,
		)
	const rows = (['worker', 'app', 'postgres', 'bench'] as const).map((name) => [
		name,
		((1000 * (after[name] - before[name])) / jobs).toFixed(1),
	])
	const sum = (['worker', 'app', 'postgres', 'bench'] as const).reduce((acc, name) => acc + (1000 * (after[name] - before[name])) / jobs, 0)
	console.log(table([['process', 'CPU ms per job'], ...rows, ['total', sum.toFixed(1)]]))
	const threadRows = [...workerThreadsAfter]
		.map(([name, { user, system }]) => {
			const was = workerThreadsBefore.get(name) ?? { user: 0, system: 0 }
			return [name, (1000 * (user - was.user)) / jobs, (1000 * (system - was.system)) / jobs] as const
		})
		.filter(([, user, system]) => user + system > 0.05)
		.sort((a, b) => b[1] + b[2] - (a[1] + a[2]))
	console.log(
		table([
			['worker thread', 'user ms per job', 'system'],
			...threadRows.map(([name, user, system]) => [name, user.toFixed(1), system.toFixed(1)]),
		]),
	)
	console.log(`→ at 2 cores fully used, this CPU per job caps the rate at ${(2000 / sum).toFixed(1)} jobs/s`)
	const rowsByStatus = await privileged().transformation.groupBy({ by: ['status'], where: { userId: user.id }, _count: true })
	console.log(`statuses: ${JSON.stringify(rowsByStatus)}; predictions at the fake: ${fake.predictions.size}`)
	const notOk = fake.webhooksSent.filter((w) => w.status !== 204)
	const answers = new Map<string, number>()
	for (const w of notOk) answers.set(`${w.status ?? w.error}`, (answers.get(`${w.status ?? w.error}`) ?? 0) + 1)
	console.log(
		`webhooks not answered 204: ${notOk.length} ${JSON.stringify(Object.fromEntries(answers))}; fake errors: ${fake.errors.length}`,
	)
	await stopChild(worker)
	if (appProf) {
		await stopChild(app.child)
		const appDir = path.join(outDir, 'app')
		const file = fs
			.readdirSync(appDir)
			.filter((name) => name.endsWith('.cpuprofile'))
			.map((name) => path.join(appDir, name))[0]
		if (file) console.log(summariseProfile(file))
	}
	if (cpuProf) {
		const file = fs
			.readdirSync(outDir)
			.filter((name) => name.endsWith('.cpuprofile'))
			.map((name) => path.join(outDir, name))
			.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0]
		if (file) console.log(summariseProfile(file))
	}
} finally {
	await cleanup.run()
}
process.exit(0)

/** log_statement = all (with the application name) on or off, for the whole server. */
async function setStatementLog(url: string, on: boolean) {
	const admin = new pg.Client({ connectionString: url })
	await admin.connect()
	try {
		await admin.query(on ? `ALTER SYSTEM SET log_statement = 'all'` : `ALTER SYSTEM RESET log_statement`)
		await admin.query(`ALTER SYSTEM SET log_line_prefix = '[%a] '`)
		await admin.query('SELECT pg_reload_conf()')
		await new Promise((resolve) => setTimeout(resolve, 300))
	} finally {
		await admin.end()
	}
}
