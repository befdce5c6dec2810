import { data, type HeadersFunction } from '@remix-run/node'
import { audit } from '#app/modules/audit/audit.server.ts'
import { translate, type Locale, type MessageKey } from '#app/modules/i18n/catalog.ts'
import { Prisma, privileged, privilegedDirect } from '#app/utils/db.server.ts'
import { getEnv, type Env } from '#app/utils/env.server.ts'

/**
 * Rate limits, counted in Postgres (no Redis) and answered the same way everywhere: status 429,
 * a `Retry-After` header in whole seconds, and a translated message — inline on the page for an
 * HTML form, a JSON body for scripts.
 *
 * Fail-closed: the count is one SQL statement. If Postgres cannot be reached, the check throws
 * and the request fails (it is never let through uncounted); it would fail anyway, since every
 * limited action writes to the same database. Check before any side effect, so a refused request
 * leaves nothing behind (no row, no object, no credit reserved).
 */

export type RateLimitResult = { allowed: boolean; remaining: number; retryAfterSeconds: number }

/** One atomic hit on `key` in a fixed window: the count after it and the seconds left in the window. */
async function countHit(key: string, windowSeconds: number) {
	// Counted on every limited request (every webhook among them): the direct path (privilegedDirect).
	const [row] = await privilegedDirect.query<{ count: number; retry_after: number }>(Prisma.sql`
		INSERT INTO rate_limits (key, count, reset_at)
		VALUES (${key}, 1, now() + make_interval(secs => ${windowSeconds}))
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN rate_limits.reset_at <= now() THEN 1 ELSE rate_limits.count + 1 END,
			reset_at = CASE WHEN rate_limits.reset_at <= now() THEN now() + make_interval(secs => ${windowSeconds}) ELSE rate_limits.reset_at END
		RETURNING count, ceil(extract(epoch FROM reset_at - now()))::int AS retry_after`)
	return { count: row!.count, retryAfterSeconds: Math.max(1, row!.retry_after) }
}

/**
 * Counts one hit on `key` in a fixed window, atomically in Postgres (no Redis): one upsert,
 * so concurrent hits from several processes are all counted.
 */
export async function hitRateLimit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
	const { count, retryAfterSeconds } = await countHit(key, windowSeconds)
	return { allowed: count <= limit, remaining: Math.max(0, limit - count), retryAfterSeconds }
}

/** Deletes expired windows (maintenance job). */
export async function purgeRateLimits() {
	return privileged().rateLimit.deleteMany({ where: { resetAt: { lt: new Date() } } })
}

/**
 * The limited actions: the variable that sets each budget (defaults in env.server.ts) and its
 * window. Login and two-factor keep their own counters (login.server.ts, two-factor.server.ts).
 */
export const rateLimitRules = {
	/** Per user: upload requests (the page sends one file per request). */
	uploads: { variable: 'UPLOADS_PER_USER_PER_HOUR', windowSeconds: 3600 },
	/** Per user: transformation order submissions, whatever the number of photos. */
	orders: { variable: 'ORDERS_PER_USER_PER_HOUR', windowSeconds: 3600 },
	/** Per user: GDPR data export requests. */
	exports: { variable: 'EXPORTS_PER_USER_PER_DAY', windowSeconds: 24 * 3600 },
	/** Per source IP: incoming webhook calls (Stripe, Replicate). */
	webhooks: { variable: 'WEBHOOKS_PER_IP_PER_MINUTE', windowSeconds: 60 },
} as const satisfies Record<string, { variable: keyof Env; windowSeconds: number }>
export type RateLimitRule = keyof typeof rateLimitRules

/** The configured budget of `rule`. */
export function rateLimitOf(rule: RateLimitRule) {
	const { variable, windowSeconds } = rateLimitRules[rule]
	return { limit: getEnv()[variable], windowSeconds }
}

/** A request over its budget; nothing was done. */
export class RateLimitError extends Error {
	override name = 'RateLimitError'
	constructor(
		readonly rule: string,
		readonly retryAfterSeconds: number,
	) {
		super(`rate limited: ${rule}`)
	}
}

/**
 * Counts one request of `subject` (a user id, or an IP hash) against `rule`; throws
 * RateLimitError past the budget. The first refusal of a window is audited (`rate_limited`),
 * later ones are not: a flood writes one row per window, not one per request.
 */
export async function enforceRateLimit(rule: RateLimitRule, subject: string, options: { userId?: string | null; request?: Request } = {}) {
	const { limit, windowSeconds } = rateLimitOf(rule)
	const { count, retryAfterSeconds } = await countHit(`${rule}:${subject}`, windowSeconds)
	if (count <= limit) return
	if (count === limit + 1) await audit('rate_limited', { userId: options.userId ?? null, request: options.request, data: { rule } })
	throw new RateLimitError(rule, retryAfterSeconds)
}

/** The `Retry-After` header: whole seconds, at least 1. */
export function retryAfterHeader(seconds: number) {
	return { 'Retry-After': String(Math.max(1, Math.ceil(seconds))) }
}

/** The translated "try again in …" message, in seconds, minutes or hours. */
export function rateLimitProblem(retryAfterSeconds: number): { error: MessageKey; vars: Record<string, number> } {
	const seconds = Math.max(1, Math.ceil(retryAfterSeconds))
	if (seconds < 120) return { error: 'rateLimit.retrySeconds', vars: { seconds } }
	if (seconds < 2 * 3600) return { error: 'rateLimit.retryMinutes', vars: { minutes: Math.ceil(seconds / 60) } }
	return { error: 'rateLimit.retryHours', vars: { hours: Math.ceil(seconds / 3600) } }
}

/**
 * What a page action returns when refused: `{ rateLimited: { error, vars } }` for an inline
 * message (role="alert"), status 429 and Retry-After. The route must also
 * `export const headers = keepRetryAfter`, or Remix drops the header.
 */
export function rateLimitedData(error: RateLimitError) {
	return data(
		{ rateLimited: rateLimitProblem(error.retryAfterSeconds) },
		{ status: 429, headers: retryAfterHeader(error.retryAfterSeconds) },
	)
}

/** A route `headers` export: Remix keeps only cookies from loaders and actions unless the route forwards the rest. */
export const keepRetryAfter: HeadersFunction = ({ actionHeaders, loaderHeaders, errorHeaders, parentHeaders }) => {
	const headers = new Headers(parentHeaders)
	const value = errorHeaders?.get('Retry-After') ?? actionHeaders.get('Retry-After') ?? loaderHeaders.get('Retry-After')
	if (value) headers.set('Retry-After', value)
	return headers
}

/** True when the caller is a script (fetch/XHR, webhook sender) rather than a browser loading a page. */
export function wantsJson(request: Request) {
	const accept = request.headers.get('accept') ?? ''
	return (
		accept.includes('application/json') || request.headers.get('x-requested-with') === 'XMLHttpRequest' || !accept.includes('text/html')
	)
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * The 429 of a resource route (uploads, webhooks): JSON `{ error: 'rate_limited', message,
 * retryAfterSeconds }` for scripts, a small page for a plain HTML form; both with Retry-After.
 */
export function rateLimitedResponse(request: Request, error: RateLimitError, locale: Locale, options: { back?: string } = {}): Response {
	const { error: key, vars } = rateLimitProblem(error.retryAfterSeconds)
	const message = translate(locale, key, vars)
	const headers = { ...retryAfterHeader(error.retryAfterSeconds), 'Cache-Control': 'no-store' }
	if (wantsJson(request)) {
		return Response.json({ error: 'rate_limited', message, retryAfterSeconds: Number(headers['Retry-After']) }, { status: 429, headers })
	}
	const title = escapeHtml(translate(locale, 'rateLimit.title'))
	const page = `<!doctype html><html lang="${locale}"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} — Renzo</title><body><main><h1>${title}</h1><p role="alert">${escapeHtml(message)}</p><p><a href="${escapeHtml(options.back ?? '/')}">${escapeHtml(translate(locale, options.back ? 'rateLimit.back' : 'rateLimit.home'))}</a></p></main></body></html>`
	return new Response(page, { status: 429, headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8' } })
}
