// End-to-end harness (vitest.e2e.config.ts): one throwaway Postgres, one real SMTP server, the
// Replicate and Stripe fakes (tests/fakes/) and the production build of the app, started exactly
// as the container starts it (`node --import tsx server.ts`, NODE_ENV=production). Tests drive
// it with Chromium.
//
// The SMTP server lives in this process while tests run in a forked worker, so each received
// message is written as JSON into a temp directory (atomically: write then rename) whose path
// is provided to the tests; tests/e2e/mailbox.ts polls it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { AddressObject } from 'mailparser'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { freePort, startEmbeddedPostgres, type EmbeddedCluster } from '#app/utils/embedded-postgres.server.ts'
import { startReplicateFake, type ReplicateFake } from '#tests/fakes/replicate.ts'
import { startSmtpServer } from '#tests/fakes/smtp.ts'
import { startStripeFake, type StripeFake } from '#tests/fakes/stripe.ts'
import type { ReceivedMail } from './mailbox.ts'

declare module 'vitest' {
	export interface ProvidedContext {
		appUrl: string
		mailDir: string
		screenshotDir: string
		/** The Stripe fake's origin: its hosted checkout pages are /pay/<session id>. */
		stripeUrl: string
	}
}

const ROOT = path.resolve(import.meta.dirname, '../..')
export const SCREENSHOT_DIR = path.join(ROOT, 'test-results/e2e')
const HEALTH_TIMEOUT_MS = 90_000
/**
 * Every prediction stays `processing` this long before its result and webhook: long enough for
 * a page to show "En cours" before "Terminée", short enough to keep the run quick.
 */
const REPLICATE_DELAY_MS = 1_500

function step(message: string) {
	console.log(`[e2e] ${message}`)
}

function newestMtime(dir: string): number {
	let newest = 0
	for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
		if (entry.isFile()) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs)
	}
	return newest
}

/** Builds the app when build/ is missing (a clean clone): the harness runs the production build. */
function ensureBuild() {
	const serverBuild = path.join(ROOT, 'build/server/index.js')
	if (fs.existsSync(serverBuild)) {
		if (newestMtime(path.join(ROOT, 'app')) > fs.statSync(serverBuild).mtimeMs)
			step('warning: files in app/ are newer than build/ — these tests run the old build; `npm run build` first')
		return
	}
	step('build/server/index.js is missing: running `npm run build`')
	// NODE_ENV=production: vitest sets NODE_ENV=test here, and Vite would then bundle React's
	// development build into the client.
	const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } })
	if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status ?? result.signal})`)
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): string[] {
	const list = Array.isArray(field) ? field : field ? [field] : []
	return list.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase())).filter(Boolean)
}

/** The real SMTP server of tests/fakes, writing each message into `mailDir` for the tests. */
async function startSmtp(mailDir: string) {
	let seq = 0
	return startSmtpServer({
		onMessage(parsed, envelopeTo) {
			const mail: ReceivedMail = {
				receivedAt: Date.now(),
				envelopeTo,
				from: addressesOf(parsed.from),
				to: addressesOf(parsed.to),
				subject: parsed.subject ?? '',
				text: parsed.text ?? '',
				html: typeof parsed.html === 'string' ? parsed.html : '',
			}
			const name = `${String(mail.receivedAt).padStart(15, '0')}-${String(++seq).padStart(5, '0')}`
			const tmp = path.join(mailDir, `${name}.tmp`)
			fs.writeFileSync(tmp, JSON.stringify(mail, null, 2))
			fs.renameSync(tmp, path.join(mailDir, `${name}.json`))
		},
	})
}

type App = { process: ChildProcess; url: string; logFile: string; stop: () => Promise<void> }

function tail(file: string, lines = 40) {
	try {
		return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
	} catch {
		return '(no log)'
	}
}

async function startApp(options: {
	databaseUrl: string
	smtpPort: number
	replicate: Pick<ReplicateFake, 'baseUrl' | 'token' | 'webhookSecret'>
	stripe: Pick<StripeFake, 'env'>
	logFile: string
}): Promise<App> {
	const port = await freePort()
	const url = `http://localhost:${port}`
	const env: NodeJS.ProcessEnv = {
		...process.env,
		NODE_ENV: 'production',
		DATABASE_URL: options.databaseUrl,
		SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
		// `localhost`, not 127.0.0.1: Chromium treats http://localhost as a secure context, so
		// the app's Secure cookies are kept.
		APP_URL: url,
		SMTP_URL: `smtp://127.0.0.1:${options.smtpPort}`,
		// The fake fetches the signed input URL and posts its webhooks to APP_URL (loopback only).
		REPLICATE_API_TOKEN: options.replicate.token,
		REPLICATE_BASE_URL: options.replicate.baseUrl,
		REPLICATE_WEBHOOK_SECRET: options.replicate.webhookSecret,
		// The hosted checkout page is the fake's; it posts its signed events to APP_URL/webhooks/stripe.
		...options.stripe.env,
		PORT: String(port),
		HOST: '127.0.0.1',
		LOG_LEVEL: 'warn',
		RUN_WORKER: 'true',
	}
	// Settings the app derives by itself; a developer's shell must not steer the run.
	for (const name of [
		'DATABASE_APP_URL',
		'TRUST_PROXY',
		'SENTRY_DSN',
		'WELCOME_CREDITS',
		'FLY_APP_NAME',
		'TRANSFORMATIONS_CONFIG',
		'TRANSFORMATION_TIMEOUT_MINUTES',
		'TRANSFORMATION_RECONCILE_AFTER_SECONDS',
		'STRIPE_AUTOMATIC_TAX',
		'BILLING_OFFER',
		'VITEST',
		'VITEST_MODE',
		'VITEST_POOL_ID',
		'VITEST_WORKER_ID',
		'TEST',
	])
		delete env[name]
	const log = fs.openSync(options.logFile, 'w')
	const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], { cwd: ROOT, env, stdio: ['ignore', log, log] })
	fs.closeSync(log)
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
	let exitInfo: string | null = null
	child.once('exit', (code, signal) => (exitInfo = `code ${code}, signal ${signal}`))

	const deadline = Date.now() + HEALTH_TIMEOUT_MS
	for (;;) {
		if (exitInfo) throw new Error(`The app exited during start-up (${exitInfo}). Log tail (${options.logFile}):\n${tail(options.logFile)}`)
		try {
			const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) })
			if (response.status === 200) break
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline) {
			child.kill('SIGKILL')
			throw new Error(
				`The app was not healthy after ${HEALTH_TIMEOUT_MS / 1000} s. Log tail (${options.logFile}):\n${tail(options.logFile)}`,
			)
		}
		await new Promise((resolve) => setTimeout(resolve, 200))
	}

	return {
		process: child,
		url,
		logFile: options.logFile,
		async stop() {
			if (child.exitCode !== null || child.signalCode !== null) return
			child.kill('SIGTERM')
			const timer = setTimeout(() => {
				console.error('[e2e] the app did not stop 30 s after SIGTERM: killing it')
				child.kill('SIGKILL')
			}, 30_000)
			await exited
			clearTimeout(timer)
			// Graceful shutdown is part of what is tested: anything but exit 0 fails the run.
			if (child.exitCode !== 0) throw new Error(`the app exited with ${exitInfo} after SIGTERM. Log tail:\n${tail(options.logFile)}`)
		},
	}
}

export default async function setup(project: TestProject) {
	const started = Date.now()
	ensureBuild()
	fs.rmSync(SCREENSHOT_DIR, { recursive: true, force: true })
	fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })

	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-e2e-'))
	// Postgres runs as the `postgres` OS user when we are root: it must reach its directory.
	fs.chmodSync(tmp, 0o755)
	const mailDir = path.join(tmp, 'mail')
	fs.mkdirSync(mailDir)

	let cluster: EmbeddedCluster | undefined
	let smtp: Awaited<ReturnType<typeof startSmtp>> | undefined
	let replicate: ReplicateFake | undefined
	let stripe: StripeFake | undefined
	let app: App | undefined
	const teardown = async () => {
		// Everything is stopped and removed even when the app's shutdown fails; then that failure fails the run.
		const appStopped = app?.stop().then(
			() => null,
			(error: Error) => error,
		)
		const appError = await appStopped
		await smtp?.close()
		await replicate?.close()
		await stripe?.close()
		// Background failures of the fakes (an input it could not fetch, a webhook the app refused).
		if (replicate?.errors.length) console.warn(`[e2e] the Replicate fake reported:\n  ${replicate.errors.join('\n  ')}`)
		if (stripe?.errors.length) console.warn(`[e2e] the Stripe fake reported:\n  ${stripe.errors.join('\n  ')}`)
		await cluster?.stop().catch((error) => console.error('[e2e] stopping Postgres failed', error))
		fs.rmSync(tmp, { recursive: true, force: true })
		if (appError) throw appError
	}

	try {
		cluster = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), persistent: false })
		const admin = new pg.Client({ connectionString: cluster.url('postgres') })
		await admin.connect()
		await admin.query('CREATE DATABASE renzo_e2e')
		await admin.end()
		smtp = await startSmtp(mailDir)
		replicate = await startReplicateFake({ behaviour: { kind: 'slow', delayMs: REPLICATE_DELAY_MS } })
		// The app's port is known once it runs: its webhook URL is set then (nothing is paid before).
		stripe = await startStripeFake()
		app = await startApp({
			databaseUrl: cluster.url('renzo_e2e'),
			smtpPort: smtp.port,
			replicate,
			stripe,
			logFile: path.join(SCREENSHOT_DIR, 'app.log'),
		})
		stripe.setWebhookUrl(`${app.url}/webhooks/stripe`)
	} catch (error) {
		await teardown()
		throw error
	}
	step(
		`app ${app.url} (Postgres :${cluster.port}, SMTP :${smtp.port}, Replicate ${replicate.baseUrl}, Stripe ${stripe.origin}) ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
	)

	project.provide('appUrl', app.url)
	project.provide('mailDir', mailDir)
	project.provide('screenshotDir', SCREENSHOT_DIR)
	project.provide('stripeUrl', stripe.origin)
	return teardown
}
