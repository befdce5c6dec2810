import { privileged } from '#app/utils/db.server.ts'

export type RateLimitResult = { allowed: boolean; remaining: number; retryAfterSeconds: number }

/**
 * Counts one hit on `key` in a fixed window, atomically in Postgres (no Redis): one upsert,
 * so concurrent hits from several processes are all counted.
 */
export async function hitRateLimit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
	const [row] = await privileged().$queryRaw<{ count: number; retry_after: number }[]>`
		INSERT INTO rate_limits (key, count, reset_at)
		VALUES (${key}, 1, now() + make_interval(secs => ${windowSeconds}))
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN rate_limits.reset_at <= now() THEN 1 ELSE rate_limits.count + 1 END,
			reset_at = CASE WHEN rate_limits.reset_at <= now() THEN now() + make_interval(secs => ${windowSeconds}) ELSE rate_limits.reset_at END
		RETURNING count, ceil(extract(epoch FROM reset_at - now()))::int AS retry_after`
	const count = row!.count
	return { allowed: count <= limit, remaining: Math.max(0, limit - count), retryAfterSeconds: Math.max(1, row!.retry_after) }
}

/** Deletes expired windows (maintenance job). */
export async function purgeRateLimits() {
	return privileged().rateLimit.deleteMany({ where: { resetAt: { lt: new Date() } } })
}
