// Diagnostic, not a bench: the SSR dashboard bench against several built checkouts of the app at
// once (e.g. before/after a performance change), alternated in one run with the bare baseline so
// the machine's noise hits them all. Each checkout needs its node_modules, app/generated and a
// build (`npm run build`); they share one database, migrated by the first.
// Run: node --import tsx bench/profile/compare-checkouts.ts /path/to/before /path/to/after
// A checkout may carry node flags for its server: /path/to/after@--max-semi-space-size=32,--other
// Settings (env): BENCH_CONNECTIONS (50), BENCH_DURATION_S (10), BENCH_ROUNDS (3).
import fs from 'node:fs'
import path from 'node:path'
import {
	BROWSER_UA,
	Cleanup,
	createLoggedInUser,
	freePort,
	intSetting,
	measure,
	median,
	newAppConfig,
	startApp,
	startBareServer,
	startDatabase,
	table,
	type Measurement,
} from '../lib/harness.ts'

const checkouts = process.argv.slice(2).map((arg) => {
	const [dir, flags] = arg.split('@')
	return { root: path.resolve(dir!), nodeArgs: flags ? flags.split(',') : [], label: `${path.basename(dir!)}${flags ? ` ${flags}` : ''}` }
})
if (!checkouts.length) throw new Error('usage: compare-checkouts.ts <checkout>[@--node-flag,…] [<checkout>…]')
for (const { root } of checkouts)
	if (!fs.existsSync(path.join(root, 'build/server/index.js')))
		throw new Error(`${root}: no build/server/index.js (run npm run build there)`)
const connections = intSetting('BENCH_CONNECTIONS', 50, 1, 500)
const duration = intSetting('BENCH_DURATION_S', 10, 1, 120)
const rounds = intSetting('BENCH_ROUNDS', 3, 1, 10)

const cleanup = new Cleanup()
try {
	const db = await startDatabase(cleanup)
	const base = await newAppConfig(db.url)
	const apps: { name: string; url: string; pid?: number }[] = []
	for (const [index, { root, nodeArgs, label }] of checkouts.entries()) {
		const port = index === 0 ? base.port : await freePort()
		const app = await startApp(cleanup, { ...base, port, appUrl: `http://localhost:${port}` }, { root, nodeArgs })
		apps.push({ name: `${index + 1}:${label}`, url: app.url, pid: app.child.pid })
	}
	const user = await createLoggedInUser(base, { projects: 8, photosPerProject: 3 })
	const headers = { cookie: user.cookie, 'user-agent': BROWSER_UA, 'accept-language': 'fr-FR,fr;q=0.9' }
	let html: Buffer | undefined
	for (const app of apps) {
		const page = await fetch(`${app.url}/`, { headers, redirect: 'manual' })
		const body = Buffer.from(await page.arrayBuffer())
		if (page.status !== 200 || !body.includes('data-testid="balance"'))
			throw new Error(`${app.name}: GET / answered ${page.status}, not the dashboard`)
		html ??= body
	}
	const bare = await startBareServer(cleanup, html!, 'text/html; charset=utf-8')
	const targets = [{ name: 'bare', url: bare.url, pid: bare.child.pid }, ...apps]
	for (const target of targets) await measure(target.name, `${target.url}/`, { connections, duration: 2, headers })
	const runs: Measurement[] = []
	for (let round = 1; round <= rounds; round++)
		for (const target of targets) {
			const run = await measure(target.name, `${target.url}/`, { connections, duration, headers, serverPid: target.pid })
			if (run.non2xx || run.errors) throw new Error(`${target.name}: ${run.non2xx} non-2xx, ${run.errors} errors: invalid measurement`)
			runs.push(run)
			console.log(
				`  round ${round} ${target.name}: ${run.rps.toFixed(0)} req/s, p99 ${run.p99} ms, ${run.cpuMsPerRequest.toFixed(2)} CPU ms/req`,
			)
		}
	const bareRps = median(runs.filter((run) => run.target === 'bare').map((run) => run.rps))
	console.log(`\n${connections} connections, ${rounds} × ${duration} s each, medians:\n`)
	console.log(
		table([
			['target', 'req/s', '% of bare', 'p50 ms', 'p99 ms', 'server CPU ms/req'],
			...targets.map(({ name }) => {
				const of = runs.filter((run) => run.target === name)
				const rps = median(of.map((run) => run.rps))
				return [
					name,
					rps.toFixed(0),
					`${((100 * rps) / bareRps).toFixed(2)} %`,
					median(of.map((run) => run.p50)),
					median(of.map((run) => run.p99)),
					median(of.map((run) => run.cpuMsPerRequest)).toFixed(3),
				]
			}),
		]),
	)
} finally {
	await cleanup.run()
}
