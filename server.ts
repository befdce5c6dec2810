// The one entry point: `npm run dev` and the container both run this file. It validates the
// configuration, starts the embedded Postgres when DATABASE_URL is unset, migrates, forks the
// worker (decision 004), then serves Remix, /healthz and static files, and shuts all of it
// down in order on SIGTERM.
import { fork, type ChildProcess } from 'node:child_process'
import crypto from 'node:crypto'
import http from 'node:http'
import path from 'node:path'
import { createReadableStreamFromReadable, createRequestHandler, writeReadableStreamToWritable, type ServerBuild } from '@remix-run/node'
import express from 'express'
import { EnvError, getEnv, parseEnv } from '#app/utils/env.server.ts'

try {
	parseEnv()
} catch (error) {
	if (error instanceof EnvError) {
		console.error(error.message)
		process.exit(1)
	}
	throw error
}

const { ensureDatabase, prepareConfiguredDatabase } = await import('#app/utils/database-setup.server.ts')
const { log } = await import('#app/utils/logger.server.ts')
const { checkHealth } = await import('#app/utils/health.server.ts')
const csrf = await import('#app/utils/csrf.server.ts')
const { securityHeaders } = await import('#app/utils/security-headers.server.ts')
const { disconnectDb } = await import('#app/utils/db.server.ts')
const { stopSender } = await import('#app/modules/queue/boss.server.ts')

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
const vite = production
	? undefined
	: await import('vite').then(({ createServer }) => createServer({ server: { middlewareMode: true }, appType: 'custom' }))
const build = vite
	? () => vite.ssrLoadModule('virtual:remix/server-build') as Promise<ServerBuild>
	: ((await import(path.resolve(import.meta.dirname, 'build/server/index.js'))) as ServerBuild)
const handleRemix = createRequestHandler(build, production ? 'production' : 'development')

const FORM_LIMIT_BYTES = 64 * 1024
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
// Routes authenticated by a signature or bearer token, not a browser session (later issues).
const CSRF_EXEMPT = [/^\/webhooks\//, /^\/api\//]

declare module '@remix-run/node' {
	interface AppLoadContext {
		nonce: string
		csrfToken: string
	}
}

const app = express()
app.disable('x-powered-by')

app.use((req, res, next) => {
	const started = process.hrtime.bigint()
	// Our own view of the client address; an incoming copy of the header is never trusted.
	// Fly-Client-IP only on Fly (FLY_APP_NAME is set there): elsewhere a client could forge it.
	const viaFly = process.env.FLY_APP_NAME ? req.headers['fly-client-ip'] : undefined
	const forwarded = env.TRUST_PROXY
		? (viaFly ??
			String(req.headers['x-forwarded-for'] ?? '')
				.split(',')[0]
				?.trim())
		: undefined
	req.headers['x-renzo-client-ip'] = String(forwarded || req.socket.remoteAddress || '')
	res.locals.nonce = crypto.randomBytes(16).toString('base64')
	for (const [name, value] of Object.entries(securityHeaders({ nonce: res.locals.nonce as string, production, https: env.APP_URL.startsWith('https:') }))) res.setHeader(name, value)
	res.on('finish', () => {
		if (req.path.startsWith('/assets/') || req.path.startsWith('/@') || req.path.startsWith('/node_modules/')) return
		// The path only: query strings can hold tokens.
		log.info('request', { method: req.method, path: req.path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 })
	})
	next()
})

app.get('/healthz', async (_req, res) => {
	const health = await checkHealth()
	res
		.status(health.status === 'ok' ? 200 : 503)
		.set('Cache-Control', 'no-store')
		.json(health)
})

if (vite) {
	app.use(vite.middlewares)
} else {
	app.use('/assets', express.static(path.resolve(import.meta.dirname, 'build/client/assets'), { immutable: true, maxAge: '1y' }))
	app.use(express.static(path.resolve(import.meta.dirname, 'build/client'), { maxAge: '1h' }))
}

function forbidden(res: express.Response, message: string) {
	res
		.status(403)
		.type('html')
		.send(
			`<!doctype html><html lang="fr"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Action refusée — Renzo</title><body style="font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem"><h1>Action refusée</h1><p>${message}</p><p><a href="/">Retour à l’accueil</a></p></body></html>`,
		)
}

app.all('*', async (req, res, next) => {
	try {
		let csrfToken = csrf.readCookie(req.headers.cookie, csrf.CSRF_COOKIE)
		if (!csrfToken) {
			csrfToken = csrf.newCsrfToken()
			res.append('Set-Cookie', csrf.csrfCookie(csrfToken, production))
		}
		let body: Buffer | undefined
		if (!SAFE_METHODS.has(req.method) && !CSRF_EXEMPT.some((pattern) => pattern.test(req.path))) {
			// A mutation from another site: refused whatever it carries.
			const origin = req.headers.origin
			const selfOrigins = [new URL(env.APP_URL).origin, `${req.protocol}://${req.headers.host}`]
			if (origin && origin !== 'null' && !selfOrigins.includes(origin)) return forbidden(res, 'Cette requête vient d’un autre site.')
			const type = String(req.headers['content-type'] ?? '')
			let submitted = typeof req.headers[csrf.CSRF_HEADER] === 'string' ? (req.headers[csrf.CSRF_HEADER] as string) : null
			if (!submitted && !type.startsWith('multipart/form-data')) {
				body = await readBody(req, FORM_LIMIT_BYTES)
				if (body === undefined) {
					res.status(413).type('text/plain').send('La requête est trop volumineuse.')
					return
				}
				if (type.startsWith('application/x-www-form-urlencoded'))
					submitted = new URLSearchParams(body.toString('utf8')).get(csrf.CSRF_FIELD)
			}
			if (!csrf.csrfMatches(csrfToken, submitted)) {
				return forbidden(res, 'Le formulaire a expiré ou ne vient pas de Renzo. Rechargez la page et réessayez.')
			}
		}
		const request = toFetchRequest(req, res, body)
		const response = await handleRemix(request, { nonce: res.locals.nonce as string, csrfToken })
		await sendFetchResponse(res, response)
	} catch (error) {
		next(error)
	}
})

app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
	log.error('unhandled request error', { error })
	if (!res.headersSent) res.status(500).type('text/plain').send('Une erreur est survenue.')
})

/** Reads a small body whole, or resolves undefined once it passes `limit` bytes. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = []
		let size = 0
		req.on('data', (chunk: Buffer) => {
			size += chunk.length
			if (size > limit) {
				req.removeAllListeners('data')
				req.resume()
				resolve(undefined)
			} else chunks.push(chunk)
		})
		req.on('end', () => resolve(Buffer.concat(chunks)))
		req.on('error', reject)
	})
}

function toFetchRequest(req: express.Request, res: express.Response, body: Buffer | undefined) {
	const url = new URL(req.originalUrl, `${req.protocol}://${req.headers.host ?? 'localhost'}`)
	const controller = new AbortController()
	res.on('close', () => controller.abort())
	const headers = new Headers()
	for (const [name, value] of Object.entries(req.headers)) {
		if (Array.isArray(value)) for (const v of value) headers.append(name, v)
		else if (value !== undefined) headers.set(name, value)
	}
	const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, signal: controller.signal }
	if (!SAFE_METHODS.has(req.method)) {
		init.body = body ? new Uint8Array(body) : (createReadableStreamFromReadable(req) as unknown as ReadableStream<Uint8Array>)
		init.duplex = 'half'
	}
	return new Request(url, init)
}

async function sendFetchResponse(res: express.Response, response: Response) {
	res.statusMessage = response.statusText
	res.status(response.status)
	for (const [name, value] of response.headers.entries()) if (name !== 'set-cookie') res.setHeader(name, value)
	for (const cookie of response.headers.getSetCookie()) res.append('Set-Cookie', cookie)
	if (response.body) await writeReadableStreamToWritable(response.body, res)
	else res.end()
}

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
	server.closeIdleConnections()
	if (worker && worker.exitCode === null) {
		const exited = new Promise((resolve) => worker!.once('exit', resolve))
		worker.kill('SIGTERM')
		await exited
	}
	await closed
	await vite?.close()
	await stopSender().catch(() => {})
	await disconnectDb().catch(() => {})
	await stopEmbeddedDb()
	log.info('stopped')
	process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
