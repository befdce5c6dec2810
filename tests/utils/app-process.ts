import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { freePort } from '#app/utils/embedded-postgres.server.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
// What vitest sets for its own workers: a child started from a test must not inherit it.
const TEST_RUNNER_VARIABLES = ['VITEST', 'VITEST_MODE', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'TEST']

/** A child process of the app with its output kept line by line. */
export type AppChild = {
	child: ChildProcess
	lines: string[]
	exited: Promise<void>
	/** Sends `signal` and resolves with the exit code once the process has ended. */
	stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

function spawnChild(entry: string, env: Record<string, string | undefined>): AppChild {
	const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
	for (const name of TEST_RUNNER_VARIABLES) delete childEnv[name]
	// `node --import tsx`, not `npx tsx`: a child started through npx ignored SIGTERM (STACK-NOTES).
	const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
	const lines: string[] = []
	const collect = (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
	child.stdout!.on('data', collect)
	child.stderr!.on('data', collect)
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
	return {
		child,
		lines,
		exited,
		async stop(signal = 'SIGTERM') {
			if (child.exitCode === null && child.signalCode === null) child.kill(signal)
			await exited
			return child.exitCode
		},
	}
}

/** The last lines of a child's output, for a failure message. */
export function tail(lines: string[], count = 30) {
	return lines.slice(-count).join('\n')
}

/**
 * The real web server (`node --import tsx server.ts`, development mode: Vite compiles the routes
 * from source, so a route added a minute ago is served) on 127.0.0.1, without its worker. Resolves
 * once /healthz answers 200. `env` overrides this test file's environment (its database, storage).
 */
export async function startServerProcess(options: { env?: Record<string, string | undefined>; readyTimeoutMs?: number } = {}) {
	const port = await freePort()
	const url = `http://127.0.0.1:${port}`
	const server = spawnChild('server.ts', {
		NODE_ENV: 'test',
		HOST: '127.0.0.1',
		PORT: String(port),
		APP_URL: url,
		RUN_WORKER: 'false',
		LOG_LEVEL: 'warn',
		...options.env,
	})
	const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000)
	for (;;) {
		if (server.child.exitCode !== null || server.child.signalCode !== null)
			throw new Error(`server.ts exited during start-up (code ${server.child.exitCode}):\n${tail(server.lines)}`)
		const status = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
			(response) => response.status,
			() => 0,
		)
		if (status === 200) break
		if (Date.now() > deadline) {
			await server.stop('SIGKILL')
			throw new Error(`server.ts was not healthy in time:\n${tail(server.lines)}`)
		}
		await new Promise((resolve) => setTimeout(resolve, 250))
	}
	return { ...server, url, port }
}

/** The real worker process (`node --import tsx worker/index.ts`); `ready` resolves on its "worker ready" line. */
export function startWorkerProcess(options: { env?: Record<string, string | undefined>; readyTimeoutMs?: number } = {}) {
	// info: the "worker ready" line is what readiness is read from.
	const worker = spawnChild('worker/index.ts', { NODE_ENV: 'test', RUN_WORKER: 'false', LOG_LEVEL: 'info', ...options.env })
	const ready = new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`worker not ready in time:\n${tail(worker.lines)}`)), options.readyTimeoutMs ?? 60_000)
		const check = () => {
			if (!worker.lines.some((line) => line.includes('"msg":"worker ready"'))) return
			clearTimeout(timer)
			worker.child.stdout!.off('data', check)
			resolve()
		}
		worker.child.stdout!.on('data', check)
		void worker.exited.then(() => {
			clearTimeout(timer)
			reject(new Error(`worker exited before ready (code ${worker.child.exitCode}):\n${tail(worker.lines)}`))
		})
	})
	ready.catch(() => undefined)
	return { ...worker, ready }
}
