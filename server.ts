// The one entry point: `npm run dev` and the container both run this file. It validates the
// configuration, starts the embedded Postgres when DATABASE_URL is unset, migrates, forks the
// worker (decision 004), then serves Remix, /healthz and static files, and shuts all of it
// down in order on SIGTERM.
import { fork, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import { createRequestHandler, type ServerBuild } from '@remix-run/node'
import type { DirectRoute } from '#app/direct-routes.server.ts'
import { OfferConfigError, resolveOffer } from '#app/modules/billing/offer.server.ts'
import { CatalogConfigError, resolveCatalog } from '#app/modules/transformations/catalog.server.ts'
import { EnvError, getEnv, parseEnv } from '#app/utils/env.server.ts'

try {
	const env = parseEnv()
	resolveCatalog(env.TRANSFORMATIONS_CONFIG)
	resolveOffer(env.BILLING_OFFER)
} catch (error) {
	if (error instanceof EnvError || error instanceof CatalogConfigError || error instanceof OfferConfigError) {
		console.error(error.message)
		process.exit(1)
	}
	throw error
}

const { ensureDatabase, prepareConfiguredDatabase } = await import('#app/utils/database-setup.server.ts')
const { log } = await import('#app/utils/logger.server.ts')
const { createHttpApp } = await import('#app/utils/http-app.server.ts')
const { disconnectDb } = await import('#app/utils/db.server.ts')
const { stopSender } = await import('#app/modules/queue/boss.server.ts')
const { closeProjectEvents } = await import('#app/modules/events/project-events.server.ts')

const stopEmbeddedDb = await ensureDatabase((line) => log.info(line))
const env = getEnv()
const production = env.NODE_ENV === 'production'
await prepareConfiguredDatabase((line) => log.info(line))

// ── worker child process ──────────────────────────────────────────────────────────────────
let worker: ChildProcess | undefined
let shuttingDown = false
function startWorker(attempt = 0) {
	worker = fork(path.resolve(import.meta.dirname, 'worker/index.ts'), [], {
		execArgv: ['--import', 'tsx'],
		env: { ...process.env, DATABASE_URL: env.DATABASE_URL },
		stdio: 'inherit',
	})
	const startedAt = Date.now()
	worker.on('exit', (code, signal) => {
		if (shuttingDown) return
		// A worker that lived a minute was healthy: restart at once; otherwise back off.
		const next = Date.now() - startedAt > 60_000 ? 0 : attempt + 1
		const delay = Math.min(30_000, 500 * 2 ** next)
		log.error('worker exited, restarting', { code, signal, delayMs: delay })
		setTimeout(() => startWorker(next), delay).unref()
	})
}
if (env.RUN_WORKER) startWorker()

// ── HTTP ──────────────────────────────────────────────────────────────────────────────────
/**
 * Vite in middleware mode (development). The Remix plugin starts a second Vite server of its own,
 * which registers a SIGTERM listener that exits the process (code 143) as soon as that server is
 * closed, cutting in-flight requests and leaving the worker and the embedded Postgres behind: our
 * shutdown below owns SIGTERM, so that listener (and its stdin twin) is removed.
 */
async function createViteServer() {
	const before = { sigterm: new Set(process.listeners('SIGTERM')), stdinEnd: new Set(process.stdin.listeners('end')) }
	const { createServer } = await import('vite')
	const server = await createServer({ server: { middlewareMode: true }, appType: 'custom' })
	for (const listener of process.listeners('SIGTERM')) if (!before.sigterm.has(listener)) process.off('SIGTERM', listener)
	for (const listener of process.stdin.listeners('end'))
		if (!before.stdinEnd.has(listener)) process.stdin.off('end', listener as (...args: unknown[]) => void)
	return server
}

const vite = production ? undefined : await createViteServer()
const build = vite
	? () => vite.ssrLoadModule('virtual:remix/server-build') as Promise<ServerBuild>
	: ((await import(path.resolve(import.meta.dirname, 'build/server/index.js'))) as ServerBuild)
// The server build's entry exports the few endpoints the HTTP layer serves without Remix (decision 014).
const directRoutes = async () => {
	const serverBuild = typeof build === 'function' ? await build() : build
	return (serverBuild.entry.module as { directRoutes?: DirectRoute[] }).directRoutes
}
const app = createHttpApp({
	env,
	handleRemix: createRequestHandler(build, production ? 'production' : 'development'),
	directRoutes,
	assets: vite ? vite.middlewares : path.resolve(import.meta.dirname, 'build/client'),
})

const server = http.createServer(app)
server.keepAliveTimeout = 65_000
server.headersTimeout = 66_000
server.listen(env.PORT, env.HOST, () => {
	const shown = env.HOST === '0.0.0.0' ? 'localhost' : env.HOST
	log.info('listening', { url: `http://${shown}:${env.PORT}` })
	if (!production) console.log(`\n  ➜  Renzo: http://${shown}:${env.PORT}\n`)
})

// ── graceful shutdown ────────────────────────────────────────────────────────────────────
async function shutdown(signal: string) {
	if (shuttingDown) return
	shuttingDown = true
	log.info('shutting down', { signal })
	const hardStop = setTimeout(() => process.exit(1), 28_000)
	hardStop.unref()
	const closed = new Promise<void>((resolve) => server.close(() => resolve()))
	// close() ends the idle keep-alive connections of now; one busy with a request goes idle (not
	// closed) once its response is sent, and would hold `closed` until the hard stop: sweep those too.
	const sweep = setInterval(() => server.closeIdleConnections(), 200)
	server.closeIdleConnections()
	// Open event streams would hold the server open until browsers leave: end them (they reconnect elsewhere).
	await closeProjectEvents().catch(() => {})
	if (worker && worker.exitCode === null) {
		const exited = new Promise((resolve) => worker!.once('exit', resolve))
		worker.kill('SIGTERM')
		await exited
	}
	await closed
	clearInterval(sweep)
	await vite?.close()
	await stopSender().catch(() => {})
	await disconnectDb().catch(() => {})
	await stopEmbeddedDb()
	log.info('stopped')
	process.exit(process.exitCode ?? 0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
// A crash still stops the worker and the embedded Postgres instead of orphaning them.
process.on('uncaughtException', (error) => {
	log.error('uncaught exception', { error })
	process.exitCode = 1
	void shutdown('uncaughtException')
})
