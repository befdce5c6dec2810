import { AsyncLocalStorage } from 'node:async_hooks'
import crypto from 'node:crypto'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient, Prisma } from '#app/generated/prisma/client.ts'
import { getEnv, type Env } from './env.server.ts'
import { log } from './logger.server.ts'

export { Prisma }
export type Tx = Prisma.TransactionClient

/** The login role the web process uses when DATABASE_APP_URL is not set (decision 003). */
export const DERIVED_APP_ROLE = 'renzo_web'

/**
 * The URL of the RLS-bound application role: DATABASE_APP_URL, or DATABASE_URL with the
 * `renzo_web` role and a password derived from SESSION_SECRET (created by `npm run db:migrate`).
 */
export function appDatabaseUrl(env: Pick<Env, 'DATABASE_URL' | 'DATABASE_APP_URL' | 'SESSION_SECRET'> = getEnv()) {
	if (env.DATABASE_APP_URL) return env.DATABASE_APP_URL
	const url = new URL(requireDatabaseUrl(env))
	url.username = DERIVED_APP_ROLE
	url.password = crypto.createHmac('sha256', env.SESSION_SECRET).update('renzo-db-app-role').digest('hex').slice(0, 40)
	return url.toString()
}

function requireDatabaseUrl(env: Pick<Env, 'DATABASE_URL'>) {
	if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not set: start through `npm run dev` (embedded Postgres) or set it')
	return env.DATABASE_URL
}

/**
 * Statements with more parameters than this (long IN lists, bulk inserts) stay unnamed: their texts
 * vary with the count. 64, not 32: the transformation's success statement has ~40 and runs at every
 * completion (unnamed, Postgres planned it at each call); a list of 33 to 64 items is at most 32
 * more prepared statements per connection.
 */
const MAX_NAMED_STATEMENT_ARGS = 64
const statementNames = new Map<string, string>()

/**
 * Named (prepared) statements: each connection has Postgres parse and plan a given SQL text once,
 * then only binds and executes it. Without a name, every query is parsed and planned again, which
 * was the largest part of Postgres' CPU per transformation (measured with perf). The name is a
 * hash of the text (node-postgres refuses one name for two texts).
 */
function statementName(query: { sql: string; args: unknown[] }): string {
	if (query.args.length > MAX_NAMED_STATEMENT_ARGS) return undefined as unknown as string
	let name = statementNames.get(query.sql)
	if (!name) {
		name = `r${crypto.createHash('sha256').update(query.sql).digest('base64url').slice(0, 24)}`
		if (statementNames.size < 10_000) statementNames.set(query.sql, name)
	}
	return name
}

/** A statement to send along with the BEGIN of the transaction about to start in this async context (see sendWithBegin). */
const withBegin = new AsyncLocalStorage<{ sql: string; sent: boolean }>()
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * One round trip less per transaction that must start with a known statement (withUser's
 * set_config, privilegedLocked's lock): the BEGIN Prisma sends for it carries that statement too
 * (`BEGIN; SELECT …`, two statements in one simple-protocol query; its values inlined once checked
 * to be a UUID or an integer). On this machine a round trip to Postgres costs 0.3–1 ms (decision
 * 003). Only the first BEGIN of the context is rewritten; the caller sends the statement itself
 * when this did not happen. Fails closed: a withUser transaction whose BEGIN went without it has
 * no app.user_id, and RLS then shows it nothing.
 */
function sendWithBegin(client: pg.PoolClient) {
	const query = client.query.bind(client) as (...args: unknown[]) => unknown
	client.query = ((config: unknown, ...rest: unknown[]) => {
		const scope = withBegin.getStore()
		if (scope && !scope.sent && (config as { text?: unknown } | null)?.text === 'BEGIN') {
			scope.sent = true
			return query({ text: `BEGIN; ${scope.sql}`, rowMode: 'array' })
		}
		return query(config, ...rest)
	}) as typeof client.query
}

function createClient(connectionString: string, max: number) {
	// A connection lost while idle (database restarted) is dropped by the pool and replaced on next use:
	// logged here, it would otherwise pass silently. connectionTimeoutMillis bounds how long a request
	// waits for a database that does not answer; it then fails fast (a 503 page, http-app.server.ts).
	const lost = (error: Error) => log.warn('database connection lost', { error })
	const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 5_000 })
	pool.on('connect', sendWithBegin)
	return new PrismaClient({
		adapter: new PrismaPg(pool, {
			onPoolError: lost,
			onConnectionError: lost,
			statementNameGenerator: statementName,
			// $disconnect closes it, as it would a pool of its own.
			disposeExternalPool: true,
		}),
		// Under a burst (the worker runs up to ~25 jobs at once) a transaction waits for a
		// connection rather than failing after Prisma's default 2 s.
		transactionOptions: { maxWait: 10_000, timeout: 15_000 },
	})
}

type Clients = { app?: PrismaClient; privileged?: PrismaClient; direct?: pg.Pool }
// One client per role per process, kept on globalThis so dev reloads do not leak pools.
const clients: Clients = ((globalThis as { __renzoDb?: Clients }).__renzoDb ??= {})

function appClient() {
	return (clients.app ??= createClient(appDatabaseUrl(), 10))
}

/**
 * The privileged path: a connection that is not subject to RLS. For the worker, webhooks,
 * login (before a user is known) and admin tasks only; every use names why.
 */
export function privileged(): PrismaClient {
	// The worker does all its work on this path: a bigger pool there (RENZO_PROCESS=worker, set by worker/index.ts).
	return (clients.privileged ??= createClient(requireDatabaseUrl(getEnv()), process.env.RENZO_PROCESS === 'worker' ? 16 : 5))
}

/**
 * Runs `fn` in one transaction as the application role with `app.user_id` set, so Postgres
 * RLS limits every statement to this user's rows (the app's own filters stay as well).
 */
export async function withUser<T>(userId: string, fn: (tx: Tx) => Promise<T>, options?: { timeout?: number }): Promise<T> {
	const scope = UUID.test(userId) ? { sql: `SELECT set_config('app.user_id', '${userId}', true)`, sent: false } : undefined
	const run = () =>
		appClient().$transaction(
			async (tx) => {
				// Set along with BEGIN in the usual case (sendWithBegin).
				if (!scope?.sent) await tx.$executeRaw`SELECT set_config('app.user_id', ${userId}, true)`
				return fn(tx)
			},
			{ timeout: options?.timeout ?? 10_000, maxWait: 5_000 },
		)
	return scope ? withBegin.run(scope, run) : run()
}

/**
 * A privileged transaction that first takes the transaction-scoped advisory lock
 * (`space`, hashtext(`key`)), sent with its BEGIN (sendWithBegin) when `key` is a UUID.
 * `genericPlans`: the transaction's named statements run on their generic plan
 * (`SET LOCAL plan_cache_mode = force_generic_plan`, sent with the BEGIN too), for statements whose
 * plan does not depend on their values (lookups by key) and that Postgres would otherwise plan
 * again at every call: the transformation's success statement spent 0.6 ms of the server's CPU
 * per call in planning (pg_stat_statements), more than a third of its execution.
 */
export async function privilegedLocked<T>(
	lock: { space: number; key: string },
	fn: (tx: Tx) => Promise<T>,
	options: { genericPlans?: boolean } = {},
): Promise<T> {
	const inlined = inlineLock(lock)
	const scope = inlined ? { sql: options.genericPlans ? `${inlined}; ${GENERIC_PLANS}` : inlined, sent: false } : undefined
	const run = () =>
		privileged().$transaction(async (tx) => {
			if (!scope?.sent) {
				await tx.$executeRaw`SELECT pg_advisory_xact_lock(${lock.space}::int, hashtext(${lock.key}))`
				if (options.genericPlans) await tx.$executeRawUnsafe(GENERIC_PLANS)
			}
			return fn(tx)
		})
	return scope ? withBegin.run(scope, run) : run()
}
const GENERIC_PLANS = 'SET LOCAL plan_cache_mode = force_generic_plan'

/** The advisory-lock statement with its values inlined, to travel with a BEGIN; null unless `key` is a UUID and `space` an integer. */
function inlineLock(lock: { space: number; key: string }) {
	return UUID.test(lock.key) && Number.isInteger(lock.space) ? `SELECT pg_advisory_xact_lock(${lock.space}, hashtext('${lock.key}'))` : null
}

/** What `privilegedDirect` runs: one statement, or a transaction's statements (with `executeSql`, pg-boss's `db`). */
export type DirectSql = {
	query<R>(statement: Prisma.Sql): Promise<R[]>
	executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>
}

/**
 * The privileged path without Prisma, for the few statements every transformation runs (the
 * worker's claim, prediction id and completion read, the Replicate webhook's event and job):
 * node-postgres on a pool of its own, statements written with Prisma.sql and prepared once per
 * connection like Prisma's. Prisma's query machinery costs ~115 µs of CPU per raw statement on
 * this machine and ~350 µs per interactive transaction, node-postgres ~65 µs per statement
 * (decision 003). The pool's sessions run on generic plans (`plan_cache_mode`): only statements
 * whose plan does not depend on their values (lookups by key) belong here; Postgres planned the
 * claim again at every call (0.34 ms). Rows come as node-postgres parses them: cast in SQL
 * (`::text`, `::int`) what must not be a bigint string or a Date.
 */
export const privilegedDirect = {
	query<R>(statement: Prisma.Sql): Promise<R[]> {
		return queryOn(directPool(), statement)
	},
	/**
	 * BEGIN, `fn`, COMMIT on one connection; ROLLBACK if `fn` throws. `lock`: the transaction first
	 * takes that advisory lock, sent with the BEGIN when `key` is a UUID (as privilegedLocked's).
	 */
	async transaction<T>(fn: (sql: DirectSql) => Promise<T>, options: { lock?: { space: number; key: string } } = {}): Promise<T> {
		const client = await directPool().connect()
		let broken: unknown
		try {
			const { lock } = options
			const inlined = lock && inlineLock(lock)
			await client.query(inlined ? `BEGIN; ${inlined}` : 'BEGIN')
			if (lock && !inlined) await client.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [lock.space, lock.key])
			const sql: DirectSql = {
				query: (statement) => queryOn(client, statement),
				executeSql: (text, values) => client.query(prepared(text, values ?? [])),
			}
			const result = await fn(sql)
			await client.query('COMMIT')
			return result
		} catch (error) {
			await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError))
			throw error
		} finally {
			// A connection that could not roll back is not handed out again.
			client.release(broken instanceof Error ? broken : undefined)
		}
	},
}

async function queryOn<R>(db: pg.Pool | pg.PoolClient, statement: Prisma.Sql): Promise<R[]> {
	return (await db.query(prepared(statement.text, statement.values))).rows as R[]
}

function prepared(text: string, values: unknown[]): pg.QueryConfig {
	const name = statementName({ sql: text, args: values })
	return name ? { name, text, values } : { text, values }
}

function directPool() {
	if (clients.direct) return clients.direct
	const pool = new pg.Pool({
		connectionString: requireDatabaseUrl(getEnv()),
		max: process.env.RENZO_PROCESS === 'worker' ? 8 : 4,
		connectionTimeoutMillis: 5_000,
		// Named in pg_stat_activity and the server's log, beside pg-boss's renzo-worker / renzo-web.
		application_name: process.env.RENZO_PROCESS === 'worker' ? 'renzo-worker-direct' : 'renzo-web-direct',
		options: '-c plan_cache_mode=force_generic_plan',
	})
	pool.on('error', (error) => log.warn('database connection lost', { error }))
	return (clients.direct = pool)
}

/** Closes every pool this process opened (graceful shutdown, end of a test file). */
export async function disconnectDb() {
	const open = [clients.app, clients.privileged].filter((c): c is PrismaClient => Boolean(c))
	const direct = clients.direct
	clients.app = undefined
	clients.privileged = undefined
	clients.direct = undefined
	await Promise.all([...open.map((c) => c.$disconnect()), direct?.end()])
}

/** True when `error` is the Postgres error `code` (e.g. 23505 unique, 23514 check). */
export function isPgError(error: unknown, code: string): boolean {
	let current: unknown = error
	for (let depth = 0; current && depth < 5; depth++) {
		const e = current as {
			code?: string
			meta?: { code?: string; driverAdapterError?: { cause?: { originalCode?: string } } }
			cause?: unknown
		}
		if (e.code === code || e.meta?.code === code || e.meta?.driverAdapterError?.cause?.originalCode === code) return true
		current = e.cause
	}
	return false
}

const UNREACHABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout'])
// Socket errors, Postgres shutting down / starting up (57P01–57P03), Prisma's "can't reach" codes.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P02', '57P03', 'P1001', 'P1002', 'P1017'])

// node-postgres's own (privilegedDirect): no pool connection in time, a socket closed under it.
const UNREACHABLE_MESSAGES = /^(timeout exceeded when trying to connect|Connection terminated)/

/** True when `error` says the database could not be reached (as opposed to a bad query). */
export function isDatabaseUnreachable(error: unknown): boolean {
	let current: unknown = error
	for (let depth = 0; current && depth < 5; depth++) {
		const e = current as {
			code?: string
			kind?: string
			message?: unknown
			meta?: { driverAdapterError?: { cause?: { kind?: string } } }
			cause?: unknown
		}
		if (UNREACHABLE.has(e.kind ?? '') || UNREACHABLE.has(e.meta?.driverAdapterError?.cause?.kind ?? '')) return true
		if (UNREACHABLE_CODES.has(e.code ?? '')) return true
		if (e.code === undefined && typeof e.message === 'string' && UNREACHABLE_MESSAGES.test(e.message)) return true
		current = e.cause
	}
	return false
}
