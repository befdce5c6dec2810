import fs from 'node:fs'
import path from 'node:path'
import wasm from '@prisma/prisma-schema-wasm'
import { describe, expect, test } from 'vitest'
import { privileged } from '#app/utils/db.server.ts'

// The migrations are hand-written SQL (decision 001): this test is what keeps them and
// prisma/schema.prisma saying the same thing. Anything missing, extra or different fails.

type Field = {
	name: string
	dbName?: string | null
	kind: 'scalar' | 'enum' | 'object'
	type: string
	isRequired: boolean
	isList: boolean
	hasDefaultValue: boolean
	default?: { name?: string } | unknown
	nativeType?: [string, string[]] | null
	relationFromFields?: string[]
	relationOnDelete?: string
}
type Model = { name: string; dbName: string | null; fields: Field[] }
type Dmmf = {
	datamodel: {
		models: Model[]
		enums: { name: string; dbName: string | null; values: { name: string; dbName: string | null }[] }[]
		indexes: { model: string; type: 'id' | 'unique' | 'normal' | 'fulltext'; dbName?: string | null; fields: { name: string }[] }[]
	}
}

const schema = fs.readFileSync(path.resolve(import.meta.dirname, '../prisma/schema.prisma'), 'utf8')
const dmmf = JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: schema }))) as Dmmf
const models = dmmf.datamodel.models
const enums = dmmf.datamodel.enums
const tableOf = (model: Model) => model.dbName ?? model.name
const columnOf = (field: Field) => field.dbName ?? field.name

// Indexes that only SQL can express (partial indexes), allowed on top of the schema's.
const SQL_ONLY_INDEXES = new Set(['transformations_processing_idx'])

function expectedType(field: Field): string {
	if (field.kind === 'enum') return `enum:${enums.find((e) => e.name === field.type)?.dbName ?? field.type}`
	const native = field.nativeType?.[0]
	if (native === 'Uuid') return 'uuid'
	if (native === 'Timestamptz') return `timestamptz(${field.nativeType?.[1][0] ?? 6})`
	const map: Record<string, string> = {
		String: 'text',
		Int: 'integer',
		BigInt: 'bigint',
		Boolean: 'boolean',
		Json: 'jsonb',
		DateTime: 'timestamp(3)',
		Float: 'double precision',
	}
	return map[field.type] ?? `unknown:${field.type}`
}

function expectsDbDefault(field: Field) {
	if (!field.hasDefaultValue) return false
	const name = (field.default as { name?: string } | undefined)?.name
	// uuid()/cuid() defaults are computed by the client, not the database.
	return name !== 'uuid' && name !== 'cuid'
}

async function query<T>(sql: string) {
	return privileged().$queryRawUnsafe<T[]>(sql)
}

describe('schema drift: prisma/schema.prisma vs the migrated database', () => {
	test('tables', async () => {
		const rows = await query<{ table_name: string }>(
			`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`,
		)
		expect(rows.map((r) => r.table_name).sort()).toEqual(models.map(tableOf).sort())
	})

	test('columns: names, types, nullability and defaults', async () => {
		const rows = await query<{
			table_name: string
			column_name: string
			data_type: string
			udt_name: string
			is_nullable: 'YES' | 'NO'
			column_default: string | null
			datetime_precision: number | null
		}>(
			`SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, datetime_precision
			 FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
		)
		const actual = rows
			.map((r) => {
				const type =
					r.data_type === 'USER-DEFINED'
						? `enum:${r.udt_name}`
						: r.data_type === 'timestamp with time zone'
							? `timestamptz(${r.datetime_precision})`
							: r.data_type === 'timestamp without time zone'
								? `timestamp(${r.datetime_precision})`
								: r.data_type
				return `${r.table_name}.${r.column_name} ${type} ${r.is_nullable === 'NO' ? 'required' : 'optional'} ${r.column_default === null ? 'no-default' : 'default'}`
			})
			.sort()
		const expected = models
			.flatMap((model) =>
				model.fields
					.filter((f) => f.kind !== 'object')
					.map(
						(f) =>
							`${tableOf(model)}.${columnOf(f)} ${expectedType(f)} ${f.isRequired ? 'required' : 'optional'} ${expectsDbDefault(f) ? 'default' : 'no-default'}`,
					),
			)
			.sort()
		expect(actual).toEqual(expected)
	})

	test('enums and their values', async () => {
		const rows = await query<{ name: string; value: string }>(
			`SELECT t.typname AS name, e.enumlabel AS value FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
			 JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' ORDER BY t.typname, e.enumsortorder`,
		)
		const actual = rows.map((r) => `${r.name}:${r.value}`)
		const expected = enums
			.map((e) => e.values.map((v) => `${e.dbName ?? e.name}:${v.dbName ?? v.name}`))
			.sort((a, b) => a[0]!.localeCompare(b[0]!))
			.flat()
		expect(actual.sort()).toEqual(expected.sort())
	})

	test('primary keys, unique and plain indexes', async () => {
		const rows = await query<{
			table_name: string
			index_name: string
			is_unique: boolean
			is_primary: boolean
			columns: string[]
			is_partial: boolean
		}>(
			`SELECT t.relname AS table_name, i.relname AS index_name, ix.indisunique AS is_unique, ix.indisprimary AS is_primary,
			        ix.indpred IS NOT NULL AS is_partial,
			        array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
			              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
			 FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
			 JOIN pg_namespace n ON n.oid = t.relnamespace
			 WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'`,
		)
		const actual = rows
			.filter((r) => !SQL_ONLY_INDEXES.has(r.index_name))
			.map((r) => `${r.table_name}(${r.columns.join(',')}) ${r.is_primary ? 'id' : r.is_unique ? 'unique' : 'normal'}`)
			.sort()
		const expected = dmmf.datamodel.indexes
			.map((index) => {
				const model = models.find((m) => m.name === index.model)!
				const cols = index.fields.map((f) => columnOf(model.fields.find((mf) => mf.name === f.name)!))
				return `${tableOf(model)}(${cols.join(',')}) ${index.type}`
			})
			.sort()
		expect(actual).toEqual(expected)
		// The SQL-only indexes are still there.
		for (const name of SQL_ONLY_INDEXES) expect(rows.some((r) => r.index_name === name && r.is_partial)).toBe(true)
	})

	test('foreign keys and their ON DELETE actions', async () => {
		const rows = await query<{ table_name: string; columns: string[]; foreign_table: string; on_delete: string }>(
			`SELECT c.conrelid::regclass::text AS table_name, c.confrelid::regclass::text AS foreign_table,
			        array(SELECT a.attname FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k)::text[] AS columns,
			        CASE c.confdeltype WHEN 'c' THEN 'Cascade' WHEN 'n' THEN 'SetNull' WHEN 'r' THEN 'Restrict' WHEN 'd' THEN 'SetDefault' ELSE 'NoAction' END AS on_delete
			 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = 'public'`,
		)
		const actual = rows.map((r) => `${r.table_name}(${r.columns.join(',')}) -> ${r.foreign_table} ${r.on_delete}`).sort()
		const expected = models
			.flatMap((model) =>
				model.fields
					.filter((f) => f.kind === 'object' && f.relationFromFields && f.relationFromFields.length > 0)
					.map((f) => {
						const target = models.find((m) => m.name === f.type)!
						const cols = f.relationFromFields!.map((name) => columnOf(model.fields.find((mf) => mf.name === name)!))
						return `${tableOf(model)}(${cols.join(',')}) -> ${tableOf(target)} ${f.relationOnDelete ?? 'NoAction'}`
					}),
			)
			.sort()
		expect(actual).toEqual(expected)
	})
})
