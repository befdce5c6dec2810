import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { prepareDatabase } from '#app/utils/database-setup.server.ts'
import { appDatabaseUrl, privileged } from '#app/utils/db.server.ts'
import { startEmbeddedPostgres, type EmbeddedCluster } from '#app/utils/embedded-postgres.server.ts'
import { parseEnv, reloadEnv } from '#app/utils/env.server.ts'
import { startSmtpServer } from '#tests/fakes/smtp.ts'
import { startServerProcess, startWorkerProcess, tail } from '#tests/utils/app-process.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { until } from '#tests/utils/until.ts'
import { WebClient } from '#tests/utils/web-client.ts'

// Postgres goes away under the real web server (server.ts) and the real worker (worker/index.ts),
// then comes back on the same port and data directory. While it is away, pages and /healthz
// answer a French 503 with Retry-After at once (never a hang, never a crash); once it is back,
// the same processes — not restarted — serve pages again and the worker runs a new job.
//
// This file has its own Postgres (the shared test cluster must not be stopped under the other
// files): a persistent cluster in a temp folder, so that a stop keeps its data.

const UNAVAILABLE = 'Service momentanément indisponible, réessayez dans un instant'
const OUTAGE_BOUND_MS = 15_000

let tmp: string
let dataDir: string
let cluster: EmbeddedCluster
let smtp: Awaited<ReturnType<typeof startSmtpServer>>
let server: Awaited<ReturnType<typeof startServerProcess>>
let worker: ReturnType<typeof startWorkerProcess>

beforeAll(async () => {
	tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-faults-pg-'))
	// Postgres runs as the `postgres` OS user when we are root: it must reach its directory.
	fs.chmodSync(tmp, 0o755)
	dataDir = path.join(tmp, 'pg')
	cluster = await startEmbeddedPostgres({ dataDir, persistent: true })
	const admin = new pg.Client({ connectionString: cluster.url('postgres') })
	await admin.connect()
	await admin.query('CREATE DATABASE renzo')
	await admin.end()
	const url = cluster.url('renzo')
	await prepareDatabase(url, appDatabaseUrl(parseEnv({ ...process.env, DATABASE_URL: url })))
	// This process (users, sessions, checks) works on the same database as the children.
	process.env.DATABASE_URL = url
	reloadEnv()
	smtp = await startSmtpServer()
	const env = { DATABASE_URL: url, SMTP_URL: smtp.url }
	worker = startWorkerProcess({ env })
	server = await startServerProcess({ env })
	await worker.ready
})

afterAll(async () => {
	await server?.stop()
	await worker?.stop()
	await smtp?.close()
	await cluster?.stop()
	if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

function alive(child: { child: { exitCode: number | null; signalCode: string | null } }) {
	return child.child.exitCode === null && child.child.signalCode === null
}

test(
	'Postgres stops: 503 pages at once, no crash; it restarts: the same processes serve and work again',
	{ timeout: 180_000 },
	async () => {
		const agent = await loggedInUser()
		const browser = new WebClient(server.url, agent.jar)
		const { id: projectId } = await privileged().project.create({
			data: { userId: agent.id, name: 'Longère de Plougastel' },
			select: { id: true },
		})
		const before = await browser.get('/projects')
		expect(before.status).toBe(200)
		expect(await before.text()).toContain('Longère de Plougastel')
		const pids = { server: server.child.pid, worker: worker.child.pid }

		await cluster.stop()

		// Every request completes within a generous bound (a timeout, not a measure of speed).
		const bound = () => ({ signal: AbortSignal.timeout(OUTAGE_BOUND_MS) })
		const health = await browser.get('/healthz', bound())
		expect(health.status).toBe(503)
		expect(health.headers.get('retry-after')).toMatch(/^\d+$/)
		expect(await health.json()).toMatchObject({ status: 'degraded', db: 'down' })
		const attempts = [
			() => browser.get('/projects', bound()),
			() => browser.get(`/projects/${projectId}`, bound()),
			() => browser.get('/settings', bound()),
			// A mutation too: refused whole, nothing half-written (checked after the restart).
			() => browser.post('/projects', { intent: 'create', name: 'Projet pendant la panne' }, bound()),
		]
		for (const attempt of attempts) {
			const response = await attempt()
			const body = await response.text()
			expect(response.status, body.slice(0, 300)).toBe(503)
			expect(response.headers.get('retry-after')).toMatch(/^\d+$/)
			expect(response.headers.get('content-type')).toMatch(/^text\/html/)
			expect(body).toContain(UNAVAILABLE)
			expect(body).toContain('<html lang="fr">')
		}
		// A client-side navigation asks for data (`?_data=`): a thrown 503 in Remix's terms, so the
		// page's error boundary shows "unavailable, retry" (error-boundary.test.tsx), not a crash page.
		const data = await browser.get(`/projects/${projectId}?_data=${encodeURIComponent('routes/projects+/$projectId')}`, bound())
		expect(data.status).toBe(503)
		expect(data.headers.get('x-remix-catch')).toBe('yes')
		expect(data.headers.get('retry-after')).toMatch(/^\d+$/)
		expect(await data.json()).toEqual({ status: 503 })
		// The worker notices (its polls fail) and stays up.
		await until(
			'the worker to report the outage',
			async () => worker.lines.some((line) => line.includes('"msg":"pg-boss error"')),
			Boolean,
			{ timeoutMs: 30_000, intervalMs: 200 },
		)
		expect(alive(server), tail(server.lines)).toBe(true)
		expect(alive(worker), tail(worker.lines)).toBe(true)

		// Same port, same data directory.
		cluster = await startEmbeddedPostgres({ dataDir, persistent: true, port: cluster.port })

		await until(
			'/healthz to answer 200 again',
			async () => (await browser.get('/healthz')).status,
			(status) => status === 200,
			{
				timeoutMs: 60_000,
				intervalMs: 250,
			},
		)
		const after = await browser.get('/projects')
		expect(after.status).toBe(200)
		const page = await after.text()
		expect(page).toContain('Longère de Plougastel')
		expect(page).not.toContain('Projet pendant la panne')
		expect(await privileged().project.count({ where: { userId: agent.id } })).toBe(1)

		// A new job, queued through the real login route, is run by the worker that lived through it all.
		const visitor = new WebClient(server.url)
		const email = `retour.${Date.now()}@agence-exemple.fr`
		const login = await visitor.post('/login', { email })
		expect(login.status, await login.text()).toBe(302)
		const mail = await smtp.waitFor(email, 60_000)
		expect(mail.subject).toMatch(/\d{6}/)

		expect({ server: server.child.pid, worker: worker.child.pid }).toEqual(pids)
		expect(alive(server), tail(server.lines)).toBe(true)
		expect(alive(worker), tail(worker.lines)).toBe(true)
		const crashes = [...server.lines, ...worker.lines].filter((line) => /uncaught|unhandled|worker exited/i.test(line))
		expect(crashes).toEqual([])
	},
)
