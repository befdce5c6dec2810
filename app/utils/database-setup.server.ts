import path from 'node:path'
import pg from 'pg'
import { installQueues } from '#app/modules/queue/boss.server.ts'
import { appDatabaseUrl } from './db.server.ts'
import { startEmbeddedPostgres } from './embedded-postgres.server.ts'
import { getEnv } from './env.server.ts'
import { applyMigrations, ensureAppLogin } from './migrate.server.ts'

export const DEV_DATA_DIR = path.resolve(import.meta.dirname, '../../.data')

/**
 * Migrates the database, makes sure the application's login role exists, and installs the
 * queue. Idempotent: run at every start (dev, tests, container, Fly release).
 */
export async function prepareDatabase(privilegedUrl: string, appUrl: string, log: (line: string) => void = () => {}) {
	const result = await applyMigrations(privilegedUrl, log)
	await ensureAppLogin(privilegedUrl, appUrl)
	await installQueues(privilegedUrl)
	return result
}

async function createDatabaseIfMissing(serverUrl: string, name: string) {
	const client = new pg.Client({ connectionString: serverUrl })
	await client.connect()
	try {
		const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
		if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`)
	} finally {
		await client.end()
	}
}

/**
 * Without DATABASE_URL (development): starts the embedded Postgres kept in `.data/pg` and
 * points DATABASE_URL at it for this process and its children. Returns a stop function.
 */
export async function ensureDatabase(log: (line: string) => void): Promise<() => Promise<void>> {
	if (process.env.DATABASE_URL) return async () => {}
	const cluster = await startEmbeddedPostgres({ dataDir: path.join(DEV_DATA_DIR, 'pg'), persistent: true })
	await createDatabaseIfMissing(cluster.url('postgres'), 'renzo')
	process.env.DATABASE_URL = cluster.url('renzo')
	log(`embedded Postgres on 127.0.0.1:${cluster.port} (data in .data/pg)`)
	return cluster.stop
}

/** `prepareDatabase` for this process's configuration. */
export async function prepareConfiguredDatabase(log: (line: string) => void) {
	const env = getEnv()
	return prepareDatabase(env.DATABASE_URL!, appDatabaseUrl(env), log)
}
