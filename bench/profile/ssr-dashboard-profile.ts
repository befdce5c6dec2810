// Diagnostic, not a bench (`npm run bench` does not run it): where does the time of the SSR
// dashboard go? Run: node --import tsx bench/profile/ssr-dashboard-profile.ts
//   1. the same request mix at 50 connections and at 1 connection: bare node:http, GET /healthz,
//      a static file, /login (anonymous SSR), / (logged-in SSR), as ratios of the bare server;
//   2. SQL per dashboard request (log_statement=all for one request, transactions for 200);
//   3. CPU-seconds per 1000 dashboard requests: app process, Postgres backends, load generator;
//   4. a V8 CPU profile of the app under the dashboard load, by package (self and inclusive).
//      V8 samples the stack at wall-clock intervals: on a busy machine, time the process spends
//      descheduled lands on whatever was running (often writev); read shares, not milliseconds,
//      and prefer bench/profile/dashboard-breakdown.ts (CPU time) for costs.
// Settings (env): PROFILE_DURATION_S (5).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import {
	BROWSER_UA,
	Cleanup,
	ROOT,
	createLoggedInUser,
	freePort,
	ensureBuild,
	intSetting,
	measure,
	newAppConfig,
	processCpuSeconds,
	startApp,
	startBareServer,
	startDatabase,
	stopChild,
	table,
	type Measurement,
} from '../lib/harness.ts'
import { category, type CpuProfile } from './cpu-profile.ts'

const duration = intSetting('PROFILE_DURATION_S', 5, 1, 60)
const CONNECTIONS = 50

// ── CPU profile analysis ─────────────────────────────────────────────────────────────────────
/** Functions whose inclusive time tells a phase of the request (names as they appear in the profile). */
const INTERESTING = [
	'parserOnIncomingClient',
	'parserOnHeadersComplete',
	'handle', // express Layer.handle
	'toFetchRequest',
	'sendFetchResponse',
	'writeReadableStreamToWritable',
	'createReadableStreamFromReadable',
	'securityHeaders',
	'requestHandler',
	'handleDocumentRequest',
	'handleDocumentRequestFunction',
	'loadRouteData',
	'callRouteLoader',
	'stripIndexParam',
	'stripRoutesParam',
	'readSession',
	'getSessionUser',
	'requireUser',
	'withUser',
	'listProjects',
	'loader',
	'renderToPipeableStream',
	'handleRequest',
	'performWork',
	'renderNodeDestructive',
	'writeHead',
	'_writeRaw',
	'end',
	'write',
	'$transaction',
	'_request',
	'request',
	'query',
	'(garbage collector)',
]

function analyse(profile: CpuProfile) {
	const byId = new Map(profile.nodes.map((node) => [node.id, node]))
	const parent = new Map<number, number>()
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
	const self = new Map<string, number>()
	const inclusive = new Map<string, number>()
	const functions = new Map<string, number>()
	const named = new Map<string, number>()
	let total = 0
	for (let i = 0; i < profile.samples.length; i++) {
		const ms = (profile.timeDeltas[i] ?? 0) / 1000
		const leaf = byId.get(profile.samples[i]!)!
		const { url, functionName, lineNumber } = leaf.callFrame
		if (functionName === '(idle)') continue
		total += ms
		const cat = category(url, functionName)
		self.set(cat, (self.get(cat) ?? 0) + ms)
		const fn = `${functionName || '(anonymous)'} ${cat}${url ? `:${lineNumber + 1}` : ''}`
		functions.set(fn, (functions.get(fn) ?? 0) + ms)
		const seen = new Set<string>()
		for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
			const frame = byId.get(id)!.callFrame
			if (frame.url) seen.add(category(frame.url, frame.functionName))
		}
		for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + ms)
		const seenNamed = new Set<string>()
		for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
			const name = byId.get(id)!.callFrame.functionName
			if (INTERESTING.includes(name)) seenNamed.add(name)
		}
		for (const name of seenNamed) named.set(name, (named.get(name) ?? 0) + ms)
	}
	const top = (map: Map<string, number>, n: number) =>
		[...map]
			.sort((a, b) => b[1] - a[1])
			.slice(0, n)
			.map(([name, ms]) => [name, ms.toFixed(0), `${((100 * ms) / total).toFixed(1)} %`])
	return { total, self: top(self, 25), inclusive: top(inclusive, 25), functions: top(functions, 30), named: top(named, 40) }
}

/** A minimal Chrome DevTools Protocol client over the global WebSocket (Node 22). */
async function connectInspector(url: string) {
	const socket = new WebSocket(url)
	await new Promise((resolve, reject) => {
		socket.addEventListener('open', resolve, { once: true })
		socket.addEventListener('error', reject, { once: true })
	})
	let next = 0
	const pending = new Map<number, (result: unknown) => void>()
	socket.addEventListener('message', (event) => {
		const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown }
		if (message.id !== undefined) pending.get(message.id)?.(message.result)
	})
	return {
		send: (method: string, params: Record<string, unknown> = {}) =>
			new Promise<unknown>((resolve) => {
				const id = ++next
				pending.set(id, resolve)
				socket.send(JSON.stringify({ id, method, params }))
			}),
		close: () => socket.close(),
	}
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────
const cleanup = new Cleanup()
try {
	ensureBuild()
	// Postgres's log arrives in chunks (trimmed by startEmbeddedPostgres) that need not end at a
	// line break: a statement cut in two still counts once, its text may be incomplete.
	const statements: string[] = []
	let capture = false
	const db = await startDatabase(cleanup, {
		log: (chunk) => {
			if (capture) for (const line of chunk.split('\n')) if (/LOG: {2}(statement|execute)/.test(line)) statements.push(line)
		},
	})
	const config = await newAppConfig(db.url)
	let app = await startApp(cleanup, config)
	const user = await createLoggedInUser(config, { projects: 8, photosPerProject: 3 })
	const headers = { cookie: user.cookie, 'user-agent': BROWSER_UA, 'accept-language': 'fr-FR,fr;q=0.9' }
	const page = await fetch(`${app.url}/`, { headers, redirect: 'manual' })
	const html = Buffer.from(await page.arrayBuffer())
	if (page.status !== 200 || !html.includes('data-testid="balance"')) throw new Error(`GET / answered ${page.status}, not the dashboard`)
	const bare = await startBareServer(cleanup, html, page.headers.get('content-type') ?? 'text/html')
	const css = fs.readdirSync(path.join(ROOT, 'build/client/assets')).find((file) => file.endsWith('.css'))

	const anonymous = { 'user-agent': BROWSER_UA, 'accept-language': 'fr-FR,fr;q=0.9' }
	const targets: { name: string; url: string; headers: Record<string, string>; pid?: number }[] = [
		{ name: 'bare node:http (same HTML)', url: `${bare.url}/`, headers, pid: bare.child.pid },
		{ name: 'app GET /healthz (2 DB queries)', url: `${app.url}/healthz`, headers: anonymous },
		{ name: 'app GET /favicon.svg (static)', url: `${app.url}/favicon.svg`, headers: anonymous },
		...(css ? [{ name: `app GET /assets/*.css (static)`, url: `${app.url}/assets/${css}`, headers: anonymous }] : []),
		{ name: 'app GET /login (SSR, no DB)', url: `${app.url}/login`, headers: anonymous },
		{ name: 'app GET / logged in (SSR + DB)', url: `${app.url}/`, headers },
	]

	// 1. Throughput and latency per endpoint.
	for (const target of targets) await measure(target.name, target.url, { connections: CONNECTIONS, duration: 1, headers: target.headers })
	const results: { name: string; at50: Measurement; at1: Measurement }[] = []
	for (const target of targets) {
		const serverPid = target.pid ?? app.child.pid
		const at50 = await measure(target.name, target.url, { connections: CONNECTIONS, duration, headers: target.headers, serverPid })
		const at1 = await measure(target.name, target.url, { connections: 1, duration: Math.min(duration, 3), headers: target.headers })
		if (at50.non2xx || at50.errors) console.warn(`warning: ${target.name}: ${at50.non2xx} non-2xx, ${at50.errors} errors`)
		results.push({ name: target.name, at50, at1 })
	}
	const bareRps = results[0]!.at50.rps
	console.log(`\n1. Throughput (${CONNECTIONS} connections, ${duration} s) and service time (1 connection)\n`)
	console.log(
		table([
			['target', 'req/s @50', '% of bare', 'p50 @50', 'p99 @50', 'CPU ms/req', 'req/s @1', 'p50 @1 ms', 'p99 @1 ms'],
			...results.map(({ name, at50, at1 }) => [
				name,
				at50.rps.toFixed(0),
				`${((100 * at50.rps) / bareRps).toFixed(1)} %`,
				at50.p50,
				at50.p99,
				at50.cpuMsPerRequest.toFixed(3),
				at1.rps.toFixed(0),
				at1.p50,
				at1.p99,
			]),
		]),
	)

	// 2. SQL per dashboard request.
	const admin = new pg.Client({ connectionString: db.url.replace(/\/[^/]+$/, '/postgres') })
	await admin.connect()
	try {
		await admin.query(`ALTER SYSTEM SET log_statement = 'all'`)
		await admin.query(`SELECT pg_reload_conf()`)
		await new Promise((resolve) => setTimeout(resolve, 300))
		capture = true
		await (await fetch(`${app.url}/`, { headers })).arrayBuffer()
		await new Promise((resolve) => setTimeout(resolve, 300))
		capture = false
		await admin.query(`ALTER SYSTEM RESET log_statement`)
		await admin.query(`SELECT pg_reload_conf()`)
		console.log(`\n2. SQL statements of ONE logged-in GET / (${statements.length}):\n`)
		for (const line of statements) console.log(`  ${line.replace(/^.*?(\[\d+\]).*?LOG: {2}/, '$1 ').slice(0, 200)}`)
		const xacts = async () =>
			Number((await admin.query(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = 'renzo_bench'`)).rows[0].n)
		const before = await xacts()
		const N = 200
		for (let i = 0; i < N; i++) await (await fetch(`${app.url}/`, { headers })).arrayBuffer()
		await new Promise((resolve) => setTimeout(resolve, 2_000)) // backends flush their stats lazily (up to ~1 s idle)
		console.log(`\n   transactions per dashboard request (over ${N}): ${((await xacts()) - before) / N}`)
	} finally {
		await admin.end()
	}

	// 3. CPU split under the dashboard load.
	const postmaster = Number(fs.readFileSync(path.join(db.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
	const cpuBefore = { app: processCpuSeconds(app.child.pid!), pg: processCpuSeconds(postmaster), self: process.cpuUsage() }
	const wall = Date.now()
	const load = await measure('dashboard', `${app.url}/`, { connections: CONNECTIONS, duration, headers })
	const seconds = (Date.now() - wall) / 1000
	const used = {
		app: processCpuSeconds(app.child.pid!) - cpuBefore.app,
		pg: processCpuSeconds(postmaster) - cpuBefore.pg,
		self: (() => {
			const u = process.cpuUsage(cpuBefore.self)
			return (u.user + u.system) / 1e6
		})(),
	}
	const perK = (s: number) => ((1000 * s) / load.requests).toFixed(2)
	console.log(`\n3. CPU during ${seconds.toFixed(1)} s of dashboard load (${load.requests} requests, ${os.cpus().length} cores)\n`)
	console.log(
		table([
			['process', 'CPU s', 'cores busy', 'CPU s / 1000 req'],
			['app (node server.ts)', used.app.toFixed(2), (used.app / seconds).toFixed(2), perK(used.app)],
			['Postgres (all backends)', used.pg.toFixed(2), (used.pg / seconds).toFixed(2), perK(used.pg)],
			['load generator (autocannon)', used.self.toFixed(2), (used.self / seconds).toFixed(2), perK(used.self)],
		]),
	)

	// 4. CPU profile of the app under the dashboard load only (inspector, not the start-up).
	await stopChild(app.child)
	const inspectPort = await freePort()
	app = await startApp(cleanup, config, { nodeArgs: [`--inspect=127.0.0.1:${inspectPort}`] })
	const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[]
	const inspector = await connectInspector(target!.webSocketDebuggerUrl)
	await measure('warm-up', `${app.url}/`, { connections: CONNECTIONS, duration: 1, headers })
	await inspector.send('Profiler.enable')
	await inspector.send('Profiler.start')
	const profiled = await measure('profiled', `${app.url}/`, { connections: CONNECTIONS, duration, headers })
	const { profile: raw } = (await inspector.send('Profiler.stop')) as { profile: CpuProfile }
	inspector.close()
	if (process.env.PROFILE_KEEP) fs.writeFileSync(process.env.PROFILE_KEEP, JSON.stringify(raw))
	const profile = analyse(raw)
	console.log(
		`\n4. App CPU profile during ${duration} s of dashboard load (${profiled.requests} requests; busy ${profile.total.toFixed(0)} ms, ` +
			`${(profile.total / profiled.requests).toFixed(2)} ms per request)\n`,
	)
	console.log(table([['self time by package', 'ms', 'share'], ...profile.self]))
	console.log()
	console.log(table([['inclusive time by package (on the stack)', 'ms', 'share'], ...profile.inclusive]))
	console.log()
	console.log(table([['top functions (self)', 'ms', 'share'], ...profile.functions]))
	console.log()
	console.log(table([['inclusive time of named functions', 'ms', 'share'], ...profile.named]))
} finally {
	await cleanup.run()
}
