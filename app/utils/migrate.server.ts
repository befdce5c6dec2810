import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'

const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../prisma/migrations')
// Any constant works; it only has to be the same for every process that migrates.
const LOCK_ID = 4_201_120_251

export type MigrationResult = { applied: string[]; skipped: string[] }

/** The migrations on disk, in order, with Prisma's checksum (sha256 hex of the file bytes). */
export function listMigrations(dir = MIGRATIONS_DIR) {
	return fs
		.readdirSync(dir, { withFileTypes: true })
		.filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, 'migration.sql')))
		.map((entry) => entry.name)
		.sort()
		.map((name) => {
			const sql = fs.readFileSync(path.join(dir, name, 'migration.sql'))
			return { name, sql: sql.toString('utf8'), checksum: crypto.createHash('sha256').update(sql).digest('hex') }
		})
}

/**
 * Applies pending SQL migrations and records them in `_prisma_migrations` exactly as
 * `prisma migrate deploy` does, so either tool sees the other's work (decision 001).
 * Each migration runs in its own transaction; an advisory lock serialises concurrent starts.
 */
export async function applyMigrations(databaseUrl: string, log: (line: string) => void = () => {}): Promise<MigrationResult> {
	const client = new pg.Client({ connectionString: databaseUrl })
	await client.connect()
	try {
		await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID])
		await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
			"id" VARCHAR(36) PRIMARY KEY NOT NULL,
			"checksum" VARCHAR(64) NOT NULL,
			"finished_at" TIMESTAMPTZ,
			"migration_name" VARCHAR(255) NOT NULL,
			"logs" TEXT,
			"rolled_back_at" TIMESTAMPTZ,
			"started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
			"applied_steps_count" INTEGER NOT NULL DEFAULT 0
		)`)
		const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
			`SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
		)
		const done = new Map(rows.map((row) => [row.migration_name, row]))
		const result: MigrationResult = { applied: [], skipped: [] }
		for (const migration of listMigrations()) {
			const previous = done.get(migration.name)
			if (previous && !previous.finished_at) {
				throw new Error(`Migration ${migration.name} failed earlier and was never resolved; see _prisma_migrations.logs`)
			}
			if (previous) {
				if (previous.checksum !== migration.checksum) log(`warning: ${migration.name} was edited after it was applied`)
				result.skipped.push(migration.name)
				continue
			}
			await client.query('BEGIN')
			try {
				await client.query(migration.sql)
				await client.query(
					`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
					 VALUES ($1, $2, $3, now(), now(), 1)`,
					[crypto.randomUUID(), migration.checksum, migration.name],
				)
				await client.query('COMMIT')
			} catch (error) {
				await client.query('ROLLBACK')
				throw new Error(`Migration ${migration.name} failed: ${(error as Error).message}`, { cause: error })
			}
			log(`applied ${migration.name}`)
			result.applied.push(migration.name)
		}
		return result
	} finally {
		await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => {})
		await client.end()
	}
}

/**
 * Makes sure the login role of the application URL exists, can log in with the URL's
 * password, and is a member of `renzo_app` (the RLS-bound group role made by the migrations).
 */
export async function ensureAppLogin(databaseUrl: string, appUrl: string) {
	const { username, password } = new URL(appUrl)
	const user = decodeURIComponent(username)
	const client = new pg.Client({ connectionString: databaseUrl })
	await client.connect()
	try {
		await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID])
		const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user])
		const ident = client.escapeIdentifier(user)
		const secret = client.escapeLiteral(decodeURIComponent(password))
		if (exists.rowCount === 0) {
			await client.query(`CREATE ROLE ${ident} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD ${secret}`)
		} else {
			// Only a superuser may change BYPASSRLS, so leave it and refuse a role that has it.
			const { rows } = await client.query<{ rolbypassrls: boolean; rolsuper: boolean }>(
				'SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = $1',
				[user],
			)
			if (rows[0]?.rolbypassrls || rows[0]?.rolsuper)
				throw new Error(`The application role ${user} must not be a superuser nor have BYPASSRLS`)
			await client.query(`ALTER ROLE ${ident} LOGIN PASSWORD ${secret}`)
		}
		await client.query(`GRANT renzo_app TO ${ident}`)
		const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db')
		await client.query(`GRANT CONNECT ON DATABASE ${client.escapeIdentifier(rows[0]!.db)} TO renzo_app`)
	} finally {
		await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => {})
		await client.end()
	}
}
