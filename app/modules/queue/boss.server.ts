import { PgBoss, fromPrisma, type SendOptions } from 'pg-boss'
import pg from 'pg'
import { getEnv } from '#app/utils/env.server.ts'
import type { DirectSql, Tx } from '#app/utils/db.server.ts'
import { queues, queueNames, schedules, type Payload, type QueueName } from './catalog.ts'

export const BOSS_SCHEMA = 'pgboss'

/** A pg-boss instance on the privileged connection. Call `start()` yourself. */
export function createBoss(options: { connectionString?: string; worker?: boolean } = {}) {
	const connectionString = options.connectionString ?? getEnv().DATABASE_URL
	if (!connectionString) throw new Error('DATABASE_URL is not set')
	return new PgBoss({
		connectionString,
		schema: BOSS_SCHEMA,
		application_name: options.worker ? 'renzo-worker' : 'renzo-web',
		max: options.worker ? 10 : 3,
		// Only the worker maintains the queue and fires schedules; the web process just sends.
		supervise: Boolean(options.worker),
		schedule: Boolean(options.worker),
		migrate: Boolean(options.worker),
		useListenNotify: Boolean(options.worker),
		// Jobs of a killed worker (no heartbeat) are failed back to the queue by the monitor pass:
		// every 10 s instead of 60, so they return within ~15–25 s (measured 14–16 s).
		...(options.worker ? { superviseIntervalSeconds: 10, monitorIntervalSeconds: 10 } : {}),
	})
}

/**
 * Installs or upgrades pg-boss's schema, declares every queue of the catalog and its
 * schedules, and lets the RLS-bound application role enqueue (run by `npm run db:migrate`).
 */
export async function installQueues(connectionString: string) {
	const boss = new PgBoss({ connectionString, schema: BOSS_SCHEMA, supervise: false, schedule: false, migrate: true })
	boss.on('error', () => {})
	await boss.start()
	try {
		for (const name of queueNames) {
			await boss.createQueue(name, { ...queues[name].options, notify: true })
			await boss.updateQueue(name, { ...queues[name].options, notify: true })
		}
		for (const { name, cron } of schedules) await boss.schedule(name, cron, {}, { tz: 'UTC' })
	} finally {
		await boss.stop({ graceful: false, close: true })
	}
	const client = new pg.Client({ connectionString })
	await client.connect()
	try {
		await client.query(`
			GRANT USAGE ON SCHEMA ${BOSS_SCHEMA} TO renzo_app;
			GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA ${BOSS_SCHEMA} TO renzo_app;
			GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${BOSS_SCHEMA} TO renzo_app;
			GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${BOSS_SCHEMA} TO renzo_app;
			ALTER DEFAULT PRIVILEGES IN SCHEMA ${BOSS_SCHEMA} GRANT SELECT, INSERT, UPDATE ON TABLES TO renzo_app;
		`)
	} finally {
		await client.end()
	}
}

let sender: Promise<PgBoss> | undefined

function getSender() {
	sender ??= (async () => {
		const boss = createBoss()
		boss.on('error', (error) => console.error(JSON.stringify({ level: 'error', msg: 'pg-boss error', error: error.message })))
		try {
			return await boss.start()
		} catch (error) {
			// Database away: close this attempt's pool; the next enqueue or health check starts afresh.
			await boss.stop({ graceful: false, close: true }).catch(() => {})
			throw error
		}
	})()
	sender.catch(() => (sender = undefined))
	return sender
}

/**
 * Enqueues a job after validating its payload. With `tx` (a Prisma transaction) or `sql` (a
 * privilegedDirect one), the job is written by that transaction: it exists if and only if the
 * transaction commits.
 */
export async function enqueue<Q extends QueueName>(
	name: Q,
	payload: Payload<Q>,
	options: { tx?: Tx; sql?: DirectSql; singletonKey?: string; priority?: number; startAfter?: number } = {},
) {
	const data = queues[name].payload.parse(payload)
	const boss = await getSender()
	const sendOptions: SendOptions = {
		...(options.sql ? { db: options.sql } : options.tx ? { db: fromPrisma(options.tx) } : {}),
		...(options.singletonKey ? { singletonKey: options.singletonKey } : {}),
		...(options.priority !== undefined ? { priority: options.priority } : {}),
		...(options.startAfter !== undefined ? { startAfter: options.startAfter } : {}),
	}
	return boss.send(name, data, sendOptions)
}

/**
 * Enqueues several jobs of one queue in ONE statement through `tx` (they exist if and only if the
 * transaction commits), each with its own singleton key; same queue options as `enqueue`.
 */
export async function enqueueMany<Q extends QueueName>(
	name: Q,
	jobs: { payload: Payload<Q>; singletonKey?: string }[],
	options: { tx: Tx; priority?: number },
) {
	if (jobs.length === 0) return
	const boss = await getSender()
	await boss.insert(
		name,
		jobs.map((job) => ({
			data: queues[name].payload.parse(job.payload),
			...(job.singletonKey ? { singletonKey: job.singletonKey } : {}),
			...(options.priority !== undefined ? { priority: options.priority } : {}),
		})),
		{ db: fromPrisma(options.tx) },
	)
}

/** Stops the web process's sender (graceful shutdown, end of a test file). */
export async function stopSender() {
	const current = sender
	sender = undefined
	if (current) await (await current.catch(() => undefined))?.stop({ graceful: false, close: true })
}

/** Health of the queue: pg-boss schema installed and reachable. */
export async function queueHealthy(): Promise<boolean> {
	const boss = await getSender()
	return (await boss.schemaVersion()) !== null
}
