import { queueHealthy } from '#app/modules/queue/boss.server.ts'
import { privileged } from './db.server.ts'

const TIMEOUT_MS = 2_000

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
	return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())])
}

/** Whether the database answers a trivial query within `timeoutMs` (never throws). */
export function databaseReachable(timeoutMs = TIMEOUT_MS): Promise<boolean> {
	const query = Promise.resolve().then(() => privileged().$queryRaw`SELECT 1`)
	return within(query, timeoutMs).then(
		() => true,
		() => false,
	)
}

/** Database and queue reachability, for /healthz (never throws). */
export async function checkHealth() {
	const [db, queue] = await Promise.all([
		databaseReachable().then((ok) => (ok ? ('ok' as const) : ('down' as const))),
		within(queueHealthy(), TIMEOUT_MS).then(
			(ok) => (ok ? ('ok' as const) : ('down' as const)),
			() => 'down' as const,
		),
	])
	return { status: db === 'ok' && queue === 'ok' ? ('ok' as const) : ('degraded' as const), db, queue }
}
