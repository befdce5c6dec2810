// Diagnostic, not a bench: the CPU cost of each piece of a logged-in GET /, measured in this
// process one call after the other (CPU time, so other processes on the machine matter less).
// Run: node --import tsx bench/profile/dashboard-breakdown.ts [other built checkout…]
// With other checkouts (e.g. with a performance change applied and built), their Remix handler
// for GET / is measured too, interleaved with this one's. Settings (env): BREAKDOWN_N (500),
// BREAKDOWN_ROUNDS (3).
import crypto from 'node:crypto'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import {
	BROWSER_UA,
	Cleanup,
	ROOT,
	appEnv,
	createLoggedInUser,
	ensureBuild,
	intSetting,
	median,
	newAppConfig,
	startDatabase,
	table,
} from '../lib/harness.ts'

const N = intSetting('BREAKDOWN_N', 500, 50, 5_000)

const ROUNDS = intSetting('BREAKDOWN_ROUNDS', 3, 1, 10)

/** CPU and wall milliseconds per call of `fn` (N sequential calls). */
async function cost(fn: () => Promise<unknown>) {
	const cpu = process.cpuUsage()
	const wall = performance.now()
	for (let i = 0; i < N; i++) await fn()
	const used = process.cpuUsage(cpu)
	return { cpuMs: (used.user + used.system) / 1000 / N, wallMs: (performance.now() - wall) / N }
}

const cleanup = new Cleanup()
try {
	ensureBuild()
	const db = await startDatabase(cleanup)
	const config = await newAppConfig(db.url)
	Object.assign(process.env, appEnv(config))
	const { prepareDatabase } = await import('#app/utils/database-setup.server.ts')
	const { appDatabaseUrl, privileged, withUser, disconnectDb } = await import('#app/utils/db.server.ts')
	await prepareDatabase(db.url, appDatabaseUrl())
	const user = await createLoggedInUser(config, { projects: 8, photosPerProject: 3 })
	cleanup.defer('disconnect Prisma', () => disconnectDb())
	const { listProjects } = await import('#app/modules/projects/projects.server.ts')
	const { getSessionUser } = await import('#app/modules/auth/session.server.ts')
	const { createRequestHandler, createCookie, createReadableStreamFromReadable } = await import('@remix-run/node')
	const { PrismaClient } = await import('#app/generated/prisma/client.ts')
	const { PrismaPg } = await import('@prisma/adapter-pg')
	const build = (await import(pathToFileURL(path.join(ROOT, 'build/server/index.js')).href)) as Parameters<typeof createRequestHandler>[0]
	const handle = createRequestHandler(build, 'production')

	const html = Buffer.alloc(7_800, 'x')
	const csrfToken = user.cookie.split('__csrf=')[1]!
	const headers = { cookie: user.cookie, 'user-agent': BROWSER_UA, 'accept-language': 'fr-FR,fr;q=0.9', 'x-renzo-client-ip': '127.0.0.1' }
	const anonymous = { 'user-agent': BROWSER_UA, 'accept-language': 'fr-FR,fr;q=0.9', 'x-renzo-client-ip': '127.0.0.1' }
	const remix =
		(pathname: string, h: Record<string, string>, handler = handle) =>
		async () => {
			// As the HTTP layer does: a fresh request id each time (used by per-request memos, if any).
			const request = new Request(`${config.appUrl}${pathname}`, { headers: { ...h, 'x-renzo-request-id': crypto.randomUUID() } })
			const response = await handler(request, { nonce: 'bench-nonce', csrfToken })
			await response.arrayBuffer()
			if (response.status !== 200) throw new Error(`${pathname} answered ${response.status}`)
		}

	const raw = new pg.Pool({ connectionString: db.url, max: 1 })
	cleanup.defer('close pg pool', () => raw.end())
	const sessionQuery = () =>
		privileged().session.findFirst({
			where: { id: 'x'.repeat(64), revokedAt: null, expiresAt: { gt: new Date() } },
			select: { lastSeenAt: true, user: { select: { id: true, email: true, role: true, locale: true, creditBalance: true } } },
		})

	const operations: [string, () => Promise<unknown>][] = []
	const run = (label: string, fn: () => Promise<unknown>) => void operations.push([label, fn])
	run('pg: SELECT 1 (one round trip, no Prisma)', () => raw.query('SELECT 1'))
	run('Prisma: $queryRaw SELECT 1', () => privileged().$queryRaw`SELECT 1`)
	run('Prisma: session.findFirst + user (readSession)', sessionQuery)
	run(
		'Prisma: $queryRaw session JOIN users (one statement)',
		() =>
			privileged().$queryRaw`SELECT s.last_seen_at, u.id, u.email, u.role::text, u.locale::text, u.credit_balance
			FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id = ${'x'.repeat(64)} AND s.revoked_at IS NULL AND s.expires_at > now()`,
	)
	run('getSessionUser (cookie parse + query)', () =>
		getSessionUser(new Request(config.appUrl, { headers })).then((u) => {
			if (!u) throw new Error('no session')
		}),
	)
	run('withUser(listProjects) (BEGIN, set_config, query, COMMIT)', () =>
		withUser(user.userId, (tx) => listProjects(tx, user.userId, { take: 6 })),
	)
	run('Remix handler: GET /login (anonymous SSR, no DB)', remix('/login', anonymous))
	run('Remix handler: GET / logged in (loaders + SSR)', remix('/', headers))
	for (const dir of process.argv.slice(2)) {
		const other = (await import(pathToFileURL(path.resolve(dir, 'build/server/index.js')).href)) as typeof build
		run(`Remix handler: GET / logged in, build of ${dir}`, remix('/', headers, createRequestHandler(other, 'production')))
	}
	const sessionCookie = createCookie('__session', { secrets: [config.sessionSecret] })
	run('session cookie parse (signed, cookie-signature)', () => sessionCookie.parse(headers.cookie))
	const appPrisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: appDatabaseUrl(), max: 10 }) })
	cleanup.defer('disconnect app Prisma', () => appPrisma.$disconnect())
	run('batch $transaction([set_config, project.findMany]) (proposal)', () =>
		appPrisma.$transaction([
			appPrisma.$executeRaw`SELECT set_config('app.user_id', ${user.userId}, true)`,
			appPrisma.project.findMany({
				where: { userId: user.userId, deletedAt: null },
				orderBy: { createdAt: 'desc' },
				take: 6,
				select: {
					id: true,
					name: true,
					address: true,
					reference: true,
					status: true,
					createdAt: true,
					_count: { select: { photos: true } },
				},
			}),
		]),
	)
	run('new Response(web ReadableStream of 8 KB) + read it', async () => {
		const body = new PassThrough()
		const response = new Response(createReadableStreamFromReadable(body) as ReadableStream, { headers: { 'content-type': 'text/html' } })
		body.end(html)
		await response.arrayBuffer()
	})
	run('new Request + 2 × (stripIndexParam, stripRoutesParam)', async () => {
		const r = new Request(`${config.appUrl}/`, { headers })
		for (let i = 0; i < 4; i++) new Request(new URL(r.url).href, { method: r.method, headers: r.headers, signal: r.signal })
	})

	// Warm-up, then ROUNDS interleaved passes over all operations (noise hits them all alike).
	for (const [, fn] of operations) for (let i = 0; i < N / 5; i++) await fn()
	const samples = new Map<string, { cpuMs: number; wallMs: number }[]>()
	for (let round = 1; round <= ROUNDS; round++) {
		for (const [label, fn] of operations) samples.set(label, [...(samples.get(label) ?? []), await cost(fn)])
		console.log(`  round ${round}/${ROUNDS} done`)
	}
	console.log(`\nIn-process cost per call (median of ${ROUNDS} rounds of ${N} sequential calls; CPU of this whole process):\n`)
	console.log(
		table([
			['operation', 'CPU ms', 'wall ms', 'CPU ms per round'],
			...[...samples].map(([label, runs]) => [
				label,
				median(runs.map((r) => r.cpuMs)).toFixed(3),
				median(runs.map((r) => r.wallMs)).toFixed(3),
				runs.map((r) => r.cpuMs.toFixed(2)).join(' / '),
			]),
		]),
	)
} finally {
	await cleanup.run()
}
