import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, afterEach, inject, vi } from 'vitest'

// Each test file gets its own database, cloned from the migrated template (~0.1 s).
const port = inject('pgPort')
const server = `postgresql://postgres:postgres@127.0.0.1:${port}`
const database = `t_${crypto.randomBytes(6).toString('hex')}`
{
	const admin = new pg.Client({ connectionString: `${server}/postgres` })
	await admin.connect()
	await admin.query(`CREATE DATABASE ${database} TEMPLATE app_template`)
	await admin.end()
}
process.env.DATABASE_URL = `${server}/${database}`
// And its own storage folder (the local driver), removed afterwards.
const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-test-storage-'))
process.env.STORAGE_DIR = storageDir

// A console.error that a test did not expect fails it (mock it in the test when expected).
const consoleError = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
	throw new Error(`console.error was called: ${args.map(String).join(' ')}`)
})
afterEach(() => {
	consoleError.mockClear()
})

afterAll(async () => {
	const { disconnectDb } = await import('#app/utils/db.server.ts')
	const { stopSender } = await import('#app/modules/queue/boss.server.ts')
	const { closeProjectEvents } = await import('#app/modules/events/project-events.server.ts')
	await closeProjectEvents()
	await stopSender()
	await disconnectDb()
	const admin = new pg.Client({ connectionString: `${server}/postgres` })
	await admin.connect()
	await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
	await admin.end()
	fs.rmSync(storageDir, { recursive: true, force: true })
})
