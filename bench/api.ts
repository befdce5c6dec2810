// Bench: GET /api/v1/projects with an API key (production build, embedded Postgres, the key's
// lookup, the per-key rate limit in Postgres, one withUser transaction), against a bare node:http
// server answering the same JSON bytes, both measured in this run at the same concurrency (only
// the ratio means something on a shared machine). The load generator is Node's own http client
// (one keep-alive Agent of N sockets, N request loops). No goal in the issue: figures only. Never
// fails on a timing; fails when the setup fails or a server answers non-2xx or errors.
//
// Settings (env): BENCH_CONNECTIONS (50), BENCH_WARMUP_S (2), BENCH_DURATION_S (10), BENCH_ROUNDS (2).
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import {
	appEnv,
	Cleanup,
	createLoggedInUser,
	ensureBuild,
	intSetting,
	median,
	newAppConfig,
	processCpuSeconds,
	startApp,
	startBareServer,
	startDatabase,
	table,
	type AppConfig,
} from './lib/harness.ts'

type Run = {
	target: string
	round: number
	rps: number
	p50: number
	p99: number
	requests: number
	non2xx: number
	errors: number
	cpuMsPerRequest: number
}

const fixed = (value: number, digits: number) => Number(value.toFixed(digits))

function percentile(sorted: number[], p: number) {
	if (!sorted.length) return NaN
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** One GET on a keep-alive socket of `agent`: resolves with the status once the body is read. */
function get(agent: http.Agent, url: URL, headers: Record<string, string>) {
	return new Promise<number>((resolve, reject) => {
		const request = http.request(url, { agent, headers }, (response) => {
			response.resume()
			response.on('end', () => resolve(response.statusCode ?? 0))
			response.on('error', reject)
		})
		request.setTimeout(10_000, () => request.destroy(new Error('timeout')))
		request.on('error', reject)
		request.end()
	})
}

/** `connections` loops, each sending its next request when the previous answer is read, for `seconds`. */
async function load(
	target: string,
	url: string,
	options: { connections: number; seconds: number; headers: Record<string, string>; serverPid?: number; round?: number },
): Promise<Run> {
	const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections })
	const parsed = new URL(url)
	const latencies: number[] = []
	let non2xx = 0
	let errors = 0
	const cpuBefore = processCpuSeconds(options.serverPid)
	const started = performance.now()
	const deadline = started + options.seconds * 1000
	async function loop() {
		while (performance.now() < deadline) {
			const sent = performance.now()
			try {
				const status = await get(agent, parsed, options.headers)
				latencies.push(performance.now() - sent)
				if (status < 200 || status >= 300) non2xx++
			} catch {
				errors++
			}
		}
	}
	await Promise.all(Array.from({ length: options.connections }, loop))
	const elapsed = (performance.now() - started) / 1000
	const cpu = processCpuSeconds(options.serverPid) - cpuBefore
	agent.destroy()
	latencies.sort((a, b) => a - b)
	return {
		target,
		round: options.round ?? 0,
		rps: latencies.length / elapsed,
		p50: fixed(percentile(latencies, 50), 1),
		p99: fixed(percentile(latencies, 99), 1),
		requests: latencies.length,
		non2xx,
		errors,
		cpuMsPerRequest: (1000 * cpu) / Math.max(1, latencies.length),
	}
}

/** An API key for the bench user, made by the app's own module (from this process, then disconnected). */
async function createKey(config: AppConfig, userId: string) {
	Object.assign(process.env, appEnv(config))
	const { reloadEnv } = await import('#app/utils/env.server.ts')
	reloadEnv()
	const { createApiKey } = await import('#app/modules/api/keys.server.ts')
	const { disconnectDb } = await import('#app/utils/db.server.ts')
	try {
		return (await createApiKey(userId, 'bench')).secret
	} finally {
		await disconnectDb()
	}
}

export default async function apiBench() {
	const connections = intSetting('BENCH_CONNECTIONS', 50, 1, 500)
	const warmup = intSetting('BENCH_WARMUP_S', 2, 0, 60)
	const duration = intSetting('BENCH_DURATION_S', 10, 1, 120)
	const rounds = intSetting('BENCH_ROUNDS', 2, 1, 10)

	const cleanup = new Cleanup()
	try {
		ensureBuild()
		const db = await startDatabase(cleanup)
		const config = await newAppConfig(db.url)
		// The per-key limit stays on (its upsert is part of every request) but high enough never to refuse.
		const app = await startApp(cleanup, config, { env: { API_RATE_LIMIT_PER_MINUTE: '1000000000' } })
		const user = await createLoggedInUser(config, { projects: 8, photosPerProject: 3 })
		const key = await createKey(config, user.userId)
		const headers = { authorization: `Bearer ${key}`, accept: 'application/json' }

		// Once, before measuring: the key must list the user's projects, not answer an error.
		const answer = await fetch(`${app.url}/api/v1/projects`, { headers })
		const body = Buffer.from(await answer.arrayBuffer())
		const listed = answer.status === 200 ? (JSON.parse(body.toString('utf8')) as { data?: unknown[] }).data : undefined
		if (!listed || listed.length !== 8)
			throw new Error(
				`GET /api/v1/projects with the key answered ${answer.status}: ${body.toString('utf8').slice(0, 300)}; nothing measured.`,
			)
		const bare = await startBareServer(cleanup, body, answer.headers.get('content-type') ?? 'application/json; charset=utf-8')

		console.log(
			`api: GET /api/v1/projects with a key (${body.length} bytes of JSON, 8 projects), ${connections} connections, ` +
				`warm-up ${warmup} s each, then ${rounds} × (bare ${duration} s, app ${duration} s); load: node:http Agent`,
		)
		const targets = [
			{ name: 'bare', url: `${bare.url}/api/v1/projects`, serverPid: bare.child.pid },
			{ name: 'app', url: `${app.url}/api/v1/projects`, serverPid: app.child.pid },
		]
		if (warmup > 0) for (const target of targets) await load(target.name, target.url, { connections, seconds: warmup, headers })
		const runs: Run[] = []
		for (let round = 1; round <= rounds; round++) {
			for (const target of targets) {
				const run = await load(target.name, target.url, { connections, seconds: duration, headers, serverPid: target.serverPid, round })
				runs.push(run)
				console.log(`  round ${round} ${target.name.padEnd(4)} ${run.rps.toFixed(0).padStart(7)} req/s  p99 ${run.p99} ms`)
			}
		}

		const of = (name: string) => runs.filter((run) => run.target === name)
		const bareRps = median(of('bare').map((run) => run.rps))
		const appRps = median(of('app').map((run) => run.rps))
		const appP99 = fixed(median(of('app').map((run) => run.p99)), 1)
		const bareP99 = fixed(median(of('bare').map((run) => run.p99)), 1)
		const ratioPct = (100 * appRps) / bareRps
		const bareCpu = median(of('bare').map((run) => run.cpuMsPerRequest))
		const appCpu = median(of('app').map((run) => run.cpuMsPerRequest))

		console.log()
		console.log(
			table([
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
			]),
		)
		console.log()
		console.log(`app/bare req/s (medians ${appRps.toFixed(0)} / ${bareRps.toFixed(0)}): ${ratioPct.toFixed(1)} %`)
		console.log(`p99 (medians): app ${appP99} ms, bare ${bareP99} ms`)
		console.log(`server CPU per request (medians): app ${appCpu.toFixed(3)} ms, bare ${bareCpu.toFixed(3)} ms (Postgres not counted)`)
		const summary = {
			bench: 'api',
			connections,
			durationS: duration,
			rounds,
			jsonBytes: body.length,
			bare: { rps: fixed(bareRps, 1), p99: bareP99, cpuMsPerRequest: fixed(bareCpu, 4) },
			app: { rps: fixed(appRps, 1), p99: appP99, cpuMsPerRequest: fixed(appCpu, 4) },
			ratioPct: fixed(ratioPct, 2),
			runs,
		}
		console.log(JSON.stringify(summary))

		const broken = runs.filter((run) => run.non2xx > 0 || run.errors > 0)
		if (broken.length)
			throw new Error(
				`invalid measurement: ${broken.map((run) => `round ${run.round} ${run.target}: ${run.non2xx} non-2xx, ${run.errors} errors`).join('; ')}`,
			)
		return {
			name: 'api',
			line: `api: GET /api/v1/projects ${appRps.toFixed(0)} req/s = ${ratioPct.toFixed(1)} % of bare node:http (${bareRps.toFixed(0)} req/s), p99 ${appP99} ms (bare ${bareP99} ms) at ${connections} connections`,
			summary,
		}
	} finally {
		await cleanup.run()
	}
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	apiBench().then(
		() => process.exit(0),
		(error: unknown) => {
			console.error(error instanceof Error ? error.message : error)
			process.exit(1)
		},
	)
}
