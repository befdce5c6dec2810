// Bench: GET /api/v1/projects with an API key (production build, embedded Postgres, the key's
// lookup, the per-key rate limit in Postgres, one withUser transaction), against a bare node:http
// server answering the same JSON bytes, both measured in this run at the same concurrency (only
// the ratio means something on a shared machine). Load by autocannon, as the other benches
// (bench/lib/harness.ts). No goal in the issue: figures only. Never
// fails on a timing; fails when the setup fails or a server answers non-2xx or errors.
//
// Settings (env): BENCH_CONNECTIONS (50), BENCH_WARMUP_S (2), BENCH_DURATION_S (10), BENCH_ROUNDS (2).
import { pathToFileURL } from 'node:url'
import {
	type AppConfig,
	appEnv,
	assertValidRuns,
	Cleanup,
	compareRuns,
	createLoggedInUser,
	ensureBuild,
	intSetting,
	measureRounds,
	newAppConfig,
	runsTable,
	startApp,
	startBareServer,
	startDatabase,
} from './lib/harness.ts'

const fixed = (value: number, digits: number) => Number(value.toFixed(digits))

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
				`warm-up ${warmup} s each, then ${rounds} × (bare ${duration} s, app ${duration} s)`,
		)
		const targets = [
			{ name: 'bare', url: `${bare.url}/api/v1/projects`, serverPid: bare.child.pid },
			{ name: 'app', url: `${app.url}/api/v1/projects`, serverPid: app.child.pid },
		]
		const runs = await measureRounds(targets, { connections, warmup, duration, rounds, headers })

		const { app: appMedians, bare: bareMedians, ratioPct } = compareRuns(runs)
		const [appRps, bareRps] = [appMedians.rps, bareMedians.rps]
		const [appP99, bareP99] = [fixed(appMedians.p99, 1), fixed(bareMedians.p99, 1)]
		const [appCpu, bareCpu] = [appMedians.cpuMsPerRequest, bareMedians.cpuMsPerRequest]

		console.log()
		console.log(runsTable(runs))
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

		assertValidRuns(runs)
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
