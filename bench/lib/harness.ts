// Shared pieces of the benches: a throwaway Postgres, the production app in a child process,
// a logged-in user, the bare node:http baseline, and one autocannon run. Everything listens on
// 127.0.0.1 and is stopped by the Cleanup stack, also on Ctrl-C.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { freePort, startEmbeddedPostgres } from '#app/utils/embedded-postgres.server.ts'

export { freePort }

export const ROOT = path.resolve(import.meta.dirname, '../..')

/** A browser-like user agent: isbot() says no, so the app streams as it would to a person. */
export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'

/** Reads a positive integer setting from the environment, clamped so every loop stays bounded. */
export function intSetting(name: string, fallback: number, min: number, max: number) {
	const raw = process.env[name]
	const value = raw === undefined || raw === '' ? fallback : Number(raw)
	if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got ${raw}`)
	return Math.min(max, Math.max(min, value))
}

/** Undo steps run in reverse order, once, whether the bench ends, throws or is interrupted. */
export class Cleanup {
	private steps: { label: string; run: () => Promise<void> | void }[] = []
	private done: Promise<void> | undefined
	private readonly onSignal = (signal: NodeJS.Signals) => {
		console.error(`\n${signal}: cleaning up…`)
		void this.run().finally(() => process.exit(130))
	}

	constructor() {
		process.once('SIGINT', this.onSignal)
		process.once('SIGTERM', this.onSignal)
	}

	defer(label: string, run: () => Promise<void> | void) {
		this.steps.push({ label, run })
	}

	run() {
		return (this.done ??= (async () => {
			process.off('SIGINT', this.onSignal)
			process.off('SIGTERM', this.onSignal)
			for (const step of this.steps.reverse()) {
				try {
					await step.run()
				} catch (error) {
					console.error(`cleanup "${step.label}" failed:`, error instanceof Error ? error.message : error)
				}
			}
		})())
	}
}

/** Builds the app (production bundle) only when build/server/index.js is missing. */
export function ensureBuild() {
	if (fs.existsSync(path.join(ROOT, 'build/server/index.js'))) return
	console.log('build/server/index.js is missing: running `npm run build`…')
	const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' })
	if (result.status !== 0) throw new Error('`npm run build` failed')
}

/** A throwaway Postgres cluster (fsync off, deleted at cleanup) with one empty database. */
export async function startDatabase(
	cleanup: Cleanup,
	options: { name?: string; log?: (line: string) => void; settings?: Record<string, string> } = {},
) {
	const name = options.name ?? 'renzo_bench'
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-bench-pg-'))
	cleanup.defer('remove Postgres directory', () => fs.rmSync(dir, { recursive: true, force: true }))
	// Postgres runs as the `postgres` OS user when we are root: it must reach its directory.
	fs.chmodSync(dir, 0o755)
	const cluster = await startEmbeddedPostgres({
		dataDir: path.join(dir, 'data'),
		persistent: false,
		log: options.log,
		...(options.settings ? { settings: options.settings } : {}),
	})
	cleanup.defer('stop Postgres', () => cluster.stop())
	const admin = new pg.Client({ connectionString: cluster.url('postgres') })
	await admin.connect()
	try {
		await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`)
	} finally {
		await admin.end()
	}
	return { url: cluster.url(name), port: cluster.port, dataDir: path.join(dir, 'data') }
}

export type AppConfig = { databaseUrl: string; sessionSecret: string; port: number; appUrl: string }

/** The environment of a production run against the bench database (the app and this process). */
export function appEnv(config: AppConfig): Record<string, string> {
	return {
		NODE_ENV: 'production',
		DATABASE_URL: config.databaseUrl,
		DATABASE_APP_URL: '',
		SESSION_SECRET: config.sessionSecret,
		APP_URL: config.appUrl,
		SMTP_URL: 'smtp://127.0.0.1:1',
		PORT: String(config.port),
		HOST: '127.0.0.1',
		// Request logs at info would dominate the measurement.
		LOG_LEVEL: 'warn',
		RUN_WORKER: 'false',
		TRUST_PROXY: 'false',
		SENTRY_DSN: '',
	}
}

export async function newAppConfig(databaseUrl: string): Promise<AppConfig> {
	const port = await freePort()
	return { databaseUrl, sessionSecret: crypto.randomBytes(32).toString('hex'), port, appUrl: `http://localhost:${port}` }
}

async function waitForExit(child: ChildProcess, ms: number) {
	if (child.exitCode !== null || child.signalCode !== null) return true
	return new Promise<boolean>((resolve) => {
		const timer = setTimeout(() => resolve(false), ms)
		child.once('exit', () => {
			clearTimeout(timer)
			resolve(true)
		})
	})
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 30_000) {
	if (child.exitCode !== null || child.signalCode !== null) return
	child.kill('SIGTERM')
	if (!(await waitForExit(child, graceMs))) {
		child.kill('SIGKILL')
		await waitForExit(child, 5_000)
	}
}

/**
 * Starts `node --import tsx server.ts` in production (it migrates, then serves) and waits until
 * GET /healthz answers 200. `nodeArgs` go before the script (e.g. --inspect); `root` is another
 * built checkout of the app (default: this one).
 */
export async function startApp(
	cleanup: Cleanup,
	config: AppConfig,
	options: { nodeArgs?: string[]; env?: Record<string, string>; root?: string } = {},
) {
	const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'server.ts'], {
		cwd: options.root ?? ROOT,
		env: { ...process.env, ...appEnv(config), ...options.env },
		stdio: ['ignore', 'pipe', 'pipe'],
	})
	cleanup.defer('stop the app', () => stopChild(child))
	const output: string[] = []
	const keep = (chunk: Buffer) => {
		output.push(...chunk.toString('utf8').split('\n').filter(Boolean))
		if (output.length > 60) output.splice(0, output.length - 60)
	}
	child.stdout!.on('data', keep)
	child.stderr!.on('data', keep)
	const url = `http://127.0.0.1:${config.port}`
	const deadline = Date.now() + 120_000
	while (Date.now() < deadline) {
		if (child.exitCode !== null || child.signalCode !== null)
			throw new Error(`the app exited during start (code ${child.exitCode}, signal ${child.signalCode}):\n${output.join('\n')}`)
		try {
			const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })
			await response.arrayBuffer()
			if (response.ok) return { url, child, output }
		} catch {
			// not listening yet
		}
		await new Promise((resolve) => setTimeout(resolve, 250))
	}
	throw new Error(`the app did not answer GET /healthz with 200 within 120 s:\n${output.join('\n')}`)
}

/**
 * Logs a user in the way the login route does, from this process: the account (with its welcome
 * credits), `projects` projects of `photosPerProject` photos, and a session. Must run after the
 * app has migrated the database. Returns the Cookie header a logged-in browser would send, and
 * the ids of the projects, in creation order.
 */
export async function createLoggedInUser(config: AppConfig, options: { projects: number; photosPerProject: number }) {
	// getEnv() caches process.env: several benches run in one process, each with its own cluster.
	Object.assign(process.env, appEnv(config))
	const { reloadEnv } = await import('#app/utils/env.server.ts')
	reloadEnv()
	const { findOrCreateUser } = await import('#app/modules/auth/login.server.ts')
	const { createUserSession } = await import('#app/modules/auth/session.server.ts')
	const { privileged, disconnectDb } = await import('#app/utils/db.server.ts')
	const { stopSender } = await import('#app/modules/queue/boss.server.ts')
	try {
		const request = new Request(`${config.appUrl}/login`, { headers: { 'user-agent': BROWSER_UA, 'x-renzo-client-ip': '127.0.0.1' } })
		const email = `bench-${crypto.randomBytes(4).toString('hex')}@example.fr`
		const user = await findOrCreateUser(email, 'fr', request)
		const db = privileged()
		const projectIds: string[] = []
		for (let i = 1; i <= options.projects; i++) {
			const project = await db.project.create({
				data: { userId: user.id, name: `Appartement ${i}`, address: `${i} rue de la Paix, 75002 Paris`, reference: `REF-${i}` },
				select: { id: true },
			})
			projectIds.push(project.id)
			await db.photo.createMany({
				data: Array.from({ length: options.photosPerProject }, (_, n) => ({
					userId: user.id,
					projectId: project.id,
					status: 'ready' as const,
					originalKey: `bench/${project.id}/${n}.jpg`,
					originalFilename: `photo-${n}.jpg`,
					contentType: 'image/jpeg',
					sizeBytes: 1_000_000,
				})),
			})
		}
		const setCookie = await createUserSession(user.id, request)
		const session = setCookie.split(';')[0]!
		// A returning browser also holds its CSRF cookie (else every response would set a new one).
		const csrf = `__csrf=${crypto.randomBytes(32).toString('base64url')}`
		return { userId: user.id, email, cookie: `${session}; ${csrf}`, projectIds }
	} finally {
		await stopSender().catch(() => {})
		await disconnectDb()
	}
}

/** Starts the baseline server in a child process, answering every request with `body`. */
export async function startBareServer(cleanup: Cleanup, body: Buffer, contentType: string) {
	const child = fork(path.join(import.meta.dirname, 'bare-server.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
	cleanup.defer('stop the bare server', () => stopChild(child, 5_000))
	const port = await new Promise<number>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('the bare server did not start within 30 s')), 30_000)
		child.once('message', (message: { port: number }) => {
			clearTimeout(timer)
			resolve(message.port)
		})
		child.once('exit', (code) => reject(new Error(`the bare server exited (code ${code})`)))
		child.send({ body: body.toString('base64'), contentType })
	})
	return { url: `http://127.0.0.1:${port}`, child }
}

export type Measurement = {
	target: string
	rps: number
	p50: number
	p99: number
	requests: number
	non2xx: number
	errors: number
	timeouts: number
	statusCodes: Record<string, number>
	/** CPU milliseconds the server process spent per completed request (when its pid is given). */
	cpuMsPerRequest: number
}

/** One autocannon run: `connections` keep-alive connections for `duration` seconds. */
export async function measure(
	target: string,
	url: string,
	options: { connections: number; duration: number; headers?: Record<string, string>; serverPid?: number },
) {
	const cpuBefore = processCpuSeconds(options.serverPid)
	const result = await autocannon({
		url,
		connections: options.connections,
		duration: options.duration,
		headers: options.headers,
		timeout: 10,
	})
	const cpu = processCpuSeconds(options.serverPid) - cpuBefore
	const measurement: Measurement = {
		target,
		rps: result.requests.average,
		p50: result.latency.p50 ?? NaN,
		p99: result.latency.p99 ?? NaN,
		requests: result.requests.total,
		non2xx: result.non2xx,
		errors: result.errors,
		timeouts: result.timeouts,
		statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
		cpuMsPerRequest: (1000 * cpu) / result.requests.total,
	}
	return measurement
}

function readStat(pid: number) {
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
		return { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / 100 } // USER_HZ
	} catch {
		return undefined
	}
}

/**
 * CPU seconds (user + system) used so far by a live process and its live descendants (e.g. the
 * workers of a cluster), from /proc (Linux); NaN without a pid or /proc.
 */
export function processCpuSeconds(pid: number | undefined) {
	if (pid === undefined || !readStat(pid)) return NaN
	const all = new Map<number, { ppid: number; cpu: number }>()
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue
		const stat = readStat(Number(entry))
		if (stat) all.set(Number(entry), stat)
	}
	let total = 0
	const stack = [pid]
	while (stack.length) {
		const current = stack.pop()!
		total += all.get(current)?.cpu ?? 0
		for (const [child, { ppid }] of all) if (ppid === current) stack.push(child)
	}
	return total
}

export function median(values: number[]) {
	const sorted = [...values].sort((a, b) => a - b)
	const middle = Math.floor(sorted.length / 2)
	return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** A plain-text table, columns padded to their widest cell. */
export function table(rows: (string | number)[][]) {
	const cells = rows.map((row) => row.map(String))
	const widths = cells[0]!.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)))
	return cells
		.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '))
		.join('\n')
}

export type Round = Measurement & { round: number }

/**
 * Warm-up of each target, then `rounds` × (each target in turn) with `measure`: the app and its
 * bare baseline alternate so that a noisy moment hits both. Logs one line per run.
 */
export async function measureRounds(
	targets: { name: string; url: string; serverPid?: number }[],
	options: { connections: number; warmup: number; duration: number; rounds: number; headers?: Record<string, string> },
) {
	const { connections, headers } = options
	if (options.warmup > 0)
		for (const target of targets) await measure(target.name, target.url, { connections, duration: options.warmup, headers })
	const runs: Round[] = []
	for (let round = 1; round <= options.rounds; round++) {
		for (const target of targets) {
			const result = await measure(target.name, target.url, {
				connections,
				duration: options.duration,
				headers,
				serverPid: target.serverPid,
			})
			runs.push({ ...result, round })
			console.log(`  round ${round} ${target.name.padEnd(4)} ${result.rps.toFixed(0).padStart(7)} req/s  p99 ${result.p99} ms`)
		}
	}
	return runs
}

/** Medians of the app's and the bare server's runs, and the app/bare throughput ratio. */
export function compareRuns(runs: Round[]) {
	const of = (name: string) => runs.filter((run) => run.target === name)
	const medians = (name: string) => ({
		rps: median(of(name).map((run) => run.rps)),
		p99: median(of(name).map((run) => run.p99)),
		cpuMsPerRequest: median(of(name).map((run) => run.cpuMsPerRequest)),
	})
	const app = medians('app')
	const bare = medians('bare')
	return { app, bare, ratioPct: (100 * app.rps) / bare.rps }
}

/** Every run as a table (round, target, req/s, latencies, errors, server CPU per request). */
export function runsTable(runs: Round[]) {
	return table([
		['round', 'target', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'errors', 'server CPU ms/req'],
		...runs.map((run) => [
			run.round,
			run.target,
			run.rps.toFixed(0),
			run.p50,
			run.p99,
			run.requests,
			run.non2xx,
			run.errors,
			run.cpuMsPerRequest.toFixed(3),
		]),
	])
}

/** Throws when a run answered non-2xx or errors: it measured something else than the page. */
export function assertValidRuns(runs: Round[]) {
	const broken = runs.filter((run) => run.non2xx > 0 || run.errors > 0)
	if (broken.length)
		throw new Error(
			`invalid measurement: ${broken
				.map(
					(run) =>
						`round ${run.round} ${run.target}: ${run.non2xx} non-2xx ${JSON.stringify(run.statusCodes)}, ${run.errors} errors (${run.timeouts} timeouts)`,
				)
				.join('; ')}`,
		)
}
