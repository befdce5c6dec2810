import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { startEmbeddedPostgres } from '#app/utils/embedded-postgres.server.ts'
import { appDatabaseUrl } from '#app/utils/db.server.ts'
import { prepareDatabase } from '#app/utils/database-setup.server.ts'
import { parseEnv } from '#app/utils/env.server.ts'

export const TEMPLATE_DB = 'app_template'

declare module 'vitest' {
	export interface ProvidedContext {
		pgPort: number
	}
}

/**
 * One throwaway Postgres cluster for the whole run: migrated once into a template database
 * that each test file clones (tests/setup/setup-test-env.ts).
 */
export default async function setup(project: TestProject) {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-test-pg-'))
	// Postgres runs as the `postgres` OS user when we are root: it must reach its directory.
	fs.chmodSync(dataDir, 0o755)
	const cluster = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'data'), persistent: false })
	const admin = new pg.Client({ connectionString: cluster.url('postgres') })
	await admin.connect()
	await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`)
	await admin.end()
	const url = cluster.url(TEMPLATE_DB)
	await prepareDatabase(url, appDatabaseUrl(parseEnv({ ...process.env, DATABASE_URL: url, NODE_ENV: 'test' })))
	project.provide('pgPort', cluster.port)
	return async () => {
		await cluster.stop()
		fs.rmSync(dataDir, { recursive: true, force: true })
	}
}
