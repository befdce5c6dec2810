import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { privileged } from './db.server.ts'
import { applyMigrations, listMigrations } from './migrate.server.ts'

describe('migration runner', () => {
	test('records every migration in _prisma_migrations exactly as prisma migrate deploy does', async () => {
		const rows = await privileged().$queryRaw<
			{
				id: string
				checksum: string
				migration_name: string
				finished_at: Date | null
				rolled_back_at: Date | null
				applied_steps_count: number
				logs: string | null
			}[]
		>`SELECT id, checksum, migration_name, finished_at, rolled_back_at, applied_steps_count, logs FROM "_prisma_migrations" ORDER BY migration_name`
		const onDisk = fs.readdirSync(path.resolve(import.meta.dirname, '../../prisma/migrations')).filter((name) => /^\d{14}_/.test(name))
		expect(rows.map((r) => r.migration_name)).toEqual(onDisk.sort())
		for (const row of rows) {
			const sql = fs.readFileSync(path.resolve(import.meta.dirname, '../../prisma/migrations', row.migration_name, 'migration.sql'))
			expect(row.checksum).toBe(crypto.createHash('sha256').update(sql).digest('hex'))
			expect(row.id).toMatch(/^[0-9a-f-]{36}$/)
			expect(row.finished_at).toBeInstanceOf(Date)
			expect(row.rolled_back_at).toBeNull()
			expect(row.applied_steps_count).toBe(1)
		}
		const columns = await privileged().$queryRaw<{ column_name: string; data_type: string; character_maximum_length: number | null }[]>`
			SELECT column_name, data_type, character_maximum_length FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`
		expect(columns.map((c) => `${c.column_name}:${c.data_type}:${c.character_maximum_length ?? ''}`)).toEqual([
			'id:character varying:36',
			'checksum:character varying:64',
			'finished_at:timestamp with time zone:',
			'migration_name:character varying:255',
			'logs:text:',
			'rolled_back_at:timestamp with time zone:',
			'started_at:timestamp with time zone:',
			'applied_steps_count:integer:',
		])
		expect(fs.readFileSync(path.resolve(import.meta.dirname, '../../prisma/migrations/migration_lock.toml'), 'utf8')).toMatch(
			/provider = "postgresql"/,
		)
	})

	test('running again, even from several processes at once, applies nothing twice', async () => {
		const url = process.env.DATABASE_URL!
		const results = await Promise.all([applyMigrations(url), applyMigrations(url), applyMigrations(url)])
		for (const result of results) {
			expect(result.applied).toEqual([])
			expect(result.skipped).toEqual(listMigrations().map((m) => m.name))
		}
		const [row] = await privileged().$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM "_prisma_migrations"`
		expect(Number(row!.n)).toBe(listMigrations().length)
	})
})
