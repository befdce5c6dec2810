import crypto from 'node:crypto'
import type http from 'node:http'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createReadableStreamFromReadable, type AppLoadContext } from '@remix-run/node'
import express from 'express'
import * as csrf from './csrf.server.ts'
import type { Env } from './env.server.ts'
import type { DirectRoute } from '#app/direct-routes.server.ts'
import { translate } from '#app/modules/i18n/catalog.ts'
import { FILES_ROUTE } from '#app/modules/storage/local.server.ts'
import { signedFile, type SignedFileAnswer } from '#app/modules/storage/serve-file.server.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { checkHealth, databaseReachable } from './health.server.ts'
import { log } from './logger.server.ts'
import { REQUEST_ID_HEADER } from './request-id.server.ts'
import { externalOrigins, securityHeaders } from './security-headers.server.ts'

declare module '@remix-run/node' {
	interface AppLoadContext {
		nonce: string
		csrfToken: string
	}
}

const FORM_LIMIT_BYTES = 64 * 1024
/** What a 503 asks clients (and Fly's proxy) to wait before trying again while the database is away. */
const RETRY_AFTER_SECONDS = 5
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
// Routes authenticated by a signature or a bearer token, not by a browser session.
const CSRF_EXEMPT = [/^\/webhooks\//, /^\/api\//]

type RemixHandler = (request: Request, context: AppLoadContext) => Promise<Response>

/**
 * The HTTP layer in front of Remix: client address, security headers, request logs without
 * query strings, /healthz, static assets, and the central CSRF and body-size checks that every
 * mutation passes before any route sees it (decision 006).
 */
export function createHttpApp(options: {
	env: Pick<Env, 'NODE_ENV' | 'APP_URL' | 'TRUST_PROXY'> &
		Partial<Pick<Env, 'S3_BUCKET' | 'S3_ENDPOINT' | 'S3_FORCE_PATH_STYLE' | 'STRIPE_API_URL'>>
	handleRemix: RemixHandler
	/** Vite's dev middleware, or the folder of the client build. */
	assets?: express.RequestHandler | string
	/** POST endpoints served without Remix once the checks below passed (decision 014); from the server build. */
	directRoutes?: () => DirectRoute[] | undefined | Promise<DirectRoute[] | undefined>
	/** Asked after a 5xx: when the database is away the answer becomes a 503 (default: a `SELECT 1`). */
	databaseReachable?: () => Promise<boolean>
}) {
	const { env, handleRemix } = options
	const reachable = options.databaseReachable ?? (() => databaseReachable())
	const production = env.NODE_ENV === 'production'
	const https = env.APP_URL.startsWith('https:')
	const external = externalOrigins(env)
	const appOrigin = new URL(env.APP_URL).origin
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
		// One id per HTTP request (an incoming copy is overwritten): per-request memos key on it.
		req.headers[REQUEST_ID_HEADER] = crypto.randomUUID()
		res.locals.nonce = crypto.randomBytes(16).toString('base64')
		for (const [name, value] of Object.entries(securityHeaders({ nonce: res.locals.nonce as string, production, https, external })))
			res.setHeader(name, value)
		res.on('finish', () => {
			if (req.path.startsWith('/assets/') || req.path.startsWith('/@') || req.path.startsWith('/node_modules/')) return
			// The path only: query strings can hold tokens.
			log.info('request', {
				method: req.method,
				path: req.path,
				status: res.statusCode,
				ms: Number(process.hrtime.bigint() - started) / 1e6,
			})
		})
		next()
	})

	app.get('/healthz', async (_req, res) => {
		const health = await checkHealth()
		if (health.status !== 'ok') res.set('Retry-After', String(RETRY_AFTER_SECONDS))
		res
			.status(health.status === 'ok' ? 200 : 503)
			.set('Cache-Control', 'no-store')
			.json(health)
	})

	// Signed files of the local driver (thumbnails, previews, the images Replicate downloads) are
	// answered here, not through Remix: no fetch Request, route matching or web stream, a few ms of
	// CPU less per image. No CSRF cookie (a file needs none) and no 503 check: nothing here touches
	// the database. With S3 the signed URLs point at the bucket: these paths go on to Remix (a 404).
	app.get(`${FILES_ROUTE}*`, async (req, res, next) => {
		if (getStorage().driver !== 'local') return next()
		try {
			await sendFile(res, await signedFile(new URL(req.originalUrl, 'http://localhost'), req.method))
		} catch (error) {
			log.error('file request failed', { error })
			if (!res.headersSent) res.status(500).type('text/plain').send('Une erreur est survenue.')
			else res.destroy()
		}
	})

	if (typeof options.assets === 'function') app.use(options.assets)
	else if (typeof options.assets === 'string') {
		app.use('/assets', express.static(path.join(options.assets, 'assets'), { immutable: true, maxAge: '1y' }))
		// Only paths that name a file (favicon.svg): a page request must not cost two stats on its way to Remix.
		const serveRoot = express.static(options.assets, { maxAge: '1h', index: false, redirect: false })
		app.use((req, res, next) => (path.extname(req.path) ? serveRoot(req, res, next) : next()))
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
				// A mutation from another site is refused whatever it carries.
				const origin = req.headers.origin
				if (origin && origin !== 'null' && origin !== appOrigin && origin !== `${req.protocol}://${req.headers.host}`) {
					return refuse(res, 403, 'Cette requête vient d’un autre site.')
				}
				const type = String(req.headers['content-type'] ?? '')
				let submitted = typeof req.headers[csrf.CSRF_HEADER] === 'string' ? (req.headers[csrf.CSRF_HEADER] as string) : null
				// Multipart bodies (uploads) are streamed, never buffered: the token comes in the header
				// (JavaScript uploader) or in the form's action URL (a no-JavaScript form cannot set headers).
				if (type.startsWith('multipart/form-data')) {
					submitted ??= new URL(req.originalUrl, 'http://x').searchParams.get(csrf.CSRF_FIELD)
				} else {
					body = await readBody(req, FORM_LIMIT_BYTES)
					if (body === undefined) return refuse(res, 413, 'La requête est trop volumineuse.')
					if (!submitted && type.startsWith('application/x-www-form-urlencoded')) {
						submitted = new URLSearchParams(body.toString('utf8')).get(csrf.CSRF_FIELD)
					}
				}
				if (!csrf.csrfMatches(csrfToken, submitted)) {
					return refuse(res, 403, 'Le formulaire a expiré ou ne vient pas de Renzo. Rechargez la page et réessayez.')
				}
				// Postgres cannot store U+0000 in text, and no keyboard types it: a form carrying one is refused
				// whole here, rather than failing as a 500 in whichever field reaches the database first.
				if (body && type.startsWith('application/x-www-form-urlencoded') && (body.includes(0) || body.includes('%00')))
					return refuse(res, 400, translate('fr', 'input.error.nul'))
				// Pages only take forms (the API and webhooks have their own paths): anything else would reach
				// a route's formData() and fail there as a 500.
				if (body && body.length > 0 && !type.startsWith('application/x-www-form-urlencoded'))
					return refuse(res, 415, translate('fr', 'input.error.notAForm'))
			}
			// A body the checks above did not read (uploads, webhooks) can go to a direct route as it is.
			const direct = req.method === 'POST' && body === undefined ? findDirect(await options.directRoutes?.(), req.path) : null
			const response = direct
				? await answerDirect(direct, toFetchRequest(req, res, undefined, { withBody: false }), req)
				: await handleRemix(toFetchRequest(req, res, body), { nonce: res.locals.nonce as string, csrfToken })
			// A loader that failed because the database is away: a clear 503, not a 500 page.
			if (response.status >= 500 && !(await reachable())) {
				await response.body?.cancel().catch(() => {})
				return unavailable(res, req)
			}
			// Answered before its body was read (a 413 from a route's own cap, an early refusal): the
			// unread bytes would stay in the socket and wedge the next request on this keep-alive
			// connection (a proxy pooling connections would hang someone else's request). Close it instead.
			if (!req.complete) res.setHeader('Connection', 'close')
			await sendFetchResponse(res, response)
		} catch (error) {
			next(error)
		}
	})

	app.use(async (error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
		if (!res.headersSent && !(await reachable())) {
			log.warn('request failed while the database is unreachable', { error })
			return unavailable(res, req)
		}
		log.error('unhandled request error', { error })
		if (!res.headersSent) res.status(500).type('text/plain').send('Une erreur est survenue.')
		else res.end()
	})
	return app
}

function refuse(res: express.Response, status: 400 | 403 | 413 | 415, message: string) {
	const title = status === 413 ? 'Requête trop volumineuse' : 'Action refusée'
	res
		.status(status)
		.type('html')
		.send(
			`<!doctype html><html lang="fr"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title} — Renzo</title><body style="font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem"><h1>${title}</h1><p>${message}</p><p><a href="/">Retour à l’accueil</a></p></body></html>`,
		)
}

/**
 * The database is unreachable (stopped, restarting, network cut): a short French page with
 * Retry-After, served without touching the database, so the process keeps answering fast. No
 * inline style: the CSP (style-src 'self') would refuse it.
 */
function unavailable(res: express.Response, req: express.Request) {
	const t = (key: Parameters<typeof translate>[1]) => translate('fr', key)
	res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).set('Cache-Control', 'no-store')
	// A client-side navigation asks Remix for data (`?_data=`): answered as a thrown 503 Response
	// (X-Remix-Catch), so the page's error boundary says "unavailable, retry" rather than showing
	// this HTML as a crash.
	if (typeof req.query._data === 'string') return void res.set('X-Remix-Catch', 'yes').json({ status: 503 })
	res
		.type('html')
		.send(
			`<!doctype html><html lang="fr"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${t('unavailable.title')} — Renzo</title><body><h1>${t('unavailable.title')}</h1><p role="status">${t('unavailable.text')}</p><p>${t('unavailable.detail')}</p><p><a href="">${t('unavailable.retry')}</a></p></body></html>`,
		)
}

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

function findDirect(routes: DirectRoute[] | undefined, pathname: string) {
	for (const route of routes ?? []) {
		const match = route.pattern.exec(pathname)
		if (match) return { route, params: match.slice(1) }
	}
	return null
}

/** A direct route's answer; a thrown Response is one too (a redirect to the login, a 404), as in Remix. */
async function answerDirect(direct: { route: DirectRoute; params: string[] }, request: Request, body: http.IncomingMessage) {
	try {
		return await direct.route.handle(request, body, direct.params)
	} catch (thrown) {
		if (thrown instanceof Response) return thrown
		throw thrown
	}
}

function toFetchRequest(req: express.Request, res: express.Response, body: Buffer | undefined, options = { withBody: true }) {
	const url = new URL(req.originalUrl, `${req.protocol}://${req.headers.host ?? 'localhost'}`)
	const controller = new AbortController()
	res.on('close', () => controller.abort())
	const headers = new Headers()
	for (const [name, value] of Object.entries(req.headers)) {
		if (Array.isArray(value)) for (const v of value) headers.append(name, v)
		else if (value !== undefined) headers.set(name, value)
	}
	const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, signal: controller.signal }
	if (!SAFE_METHODS.has(req.method) && options.withBody) {
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
	if (!response.body) return void res.end()
	await writeBody(response.body, res)
}

/**
 * Sends a signedFile answer, the file piped with backpressure. A client that leaves closes the
 * response: pipeline then destroys the file stream (its handle is closed) and rejects with a
 * premature close, which is no error of ours. A storage error half-way destroys the response, so
 * the client sees a broken download rather than a short complete one.
 */
async function sendFile(res: express.Response, file: SignedFileAnswer) {
	res.status(file.status)
	for (const [name, value] of Object.entries(file.headers)) res.setHeader(name, value)
	if (file.body === null || typeof file.body === 'string') return void res.end(file.body ?? undefined)
	try {
		await pipeline(file.body, res)
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') log.error('file stream failed', { error })
	}
}

/**
 * Copies a web body to the socket, waiting for it to drain (a slow client reading a big ZIP does
 * not make the server read it all into memory). A client that leaves cancels the body WITHOUT a
 * reason: Remix's stream adapter destroys its Node source with that reason, and an error there
 * has no listener left (an aborted image download used to crash the process).
 */
async function writeBody(body: ReadableStream<Uint8Array>, res: express.Response) {
	const reader = body.getReader()
	let gone = false
	const onClose = () => {
		if (res.writableFinished) return
		gone = true
		void reader.cancel().catch(() => {})
	}
	res.on('close', onClose)
	try {
		for (;;) {
			const { done, value } = await reader.read()
			if (done || gone) break
			if (!res.write(value))
				await new Promise<void>((resolve) => {
					const go = () => {
						res.off('drain', go)
						res.off('close', go)
						resolve()
					}
					res.on('drain', go)
					res.on('close', go)
				})
		}
		if (!gone) res.end()
	} catch (error) {
		// The body failed half-way (storage error): the client must see a broken response, not a complete one.
		log.error('response body failed', { error })
		if (!gone) res.destroy(error instanceof Error ? error : new Error(String(error)))
	} finally {
		res.off('close', onClose)
	}
}
