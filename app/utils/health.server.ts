import { queueHealthy } from '#app/modules/queue/boss.server.ts'
import { privileged } from './db.server.ts'

const TIMEOUT_MS = 2_000

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
	return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())])
}

/** Database and queue reachability, for /healthz (never throws). */
export async function checkHealth() {
	const [db, queue] = await Promise.all([
		within(privileged().$queryRaw`SELECT 1`, TIMEOUT_MS).then(
			() => 'ok' as const,
			() => 'down' as const,
		),
		within(queueHealthy(), TIMEOUT_MS).then(
			(ok) => (ok ? ('ok' as const) : ('down' as const)),
			() => 'down' as const,
		),
	])
	return { status: db === 'ok' && queue === 'ok' ? ('ok' as const) : ('degraded' as const), db, queue }
}
