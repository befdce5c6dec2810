import crypto from 'node:crypto'
import { afterEach, describe, expect, test } from 'vitest'
import { disconnectDb, privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { createTestUser } from '#tests/utils/db.ts'
import {
	enforceRateLimit,
	hitRateLimit,
	rateLimitedResponse,
	RateLimitError,
	rateLimitOf,
	rateLimitProblem,
	retryAfterHeader,
} from './rate-limit.server.ts'

afterEach(() => {
	delete process.env.ORDERS_PER_USER_PER_HOUR
	reloadEnv()
})

const refusal = (promise: Promise<unknown>) =>
	promise.then(
		() => null,
		(error: unknown) => error,
	)

describe('rate limits', () => {
	test('budgets come from the environment, with documented defaults', () => {
		expect(rateLimitOf('uploads')).toEqual({ limit: 300, windowSeconds: 3600 })
		expect(rateLimitOf('orders')).toEqual({ limit: 60, windowSeconds: 3600 })
		expect(rateLimitOf('exports')).toEqual({ limit: 3, windowSeconds: 86_400 })
		expect(rateLimitOf('webhooks')).toEqual({ limit: 6000, windowSeconds: 60 })
		process.env.ORDERS_PER_USER_PER_HOUR = '7'
		reloadEnv()
		expect(rateLimitOf('orders').limit).toBe(7)
	})

	test('the limit+1-th request is refused with the seconds left; another subject is not affected; one audit row per window', async () => {
		process.env.ORDERS_PER_USER_PER_HOUR = '2'
		reloadEnv()
		const a = await createTestUser()
		const b = await createTestUser()
		await enforceRateLimit('orders', a.id, { userId: a.id })
		await enforceRateLimit('orders', a.id, { userId: a.id })
		const refused = await refusal(enforceRateLimit('orders', a.id, { userId: a.id }))
		expect(refused).toBeInstanceOf(RateLimitError)
		const seconds = (refused as RateLimitError).retryAfterSeconds
		expect(Number.isInteger(seconds) && seconds > 0 && seconds <= 3600).toBe(true)
		await refusal(enforceRateLimit('orders', a.id, { userId: a.id }))
		// B has its own budget.
		await enforceRateLimit('orders', b.id, { userId: b.id })
		// A flood writes one audit row per window, not one per refused request.
		expect(await privileged().auditEvent.findMany({ where: { userId: a.id }, select: { type: true, data: true } })).toEqual([
			{ type: 'rate_limited', data: { rule: 'orders' } },
		])
		expect(await privileged().auditEvent.count({ where: { userId: b.id } })).toBe(0)
	})

	test('a window that has passed starts a new count', async () => {
		const key = `test:${crypto.randomUUID()}`
		expect((await hitRateLimit(key, 1, 60)).allowed).toBe(true)
		expect((await hitRateLimit(key, 1, 60)).allowed).toBe(false)
		await privileged().rateLimit.update({ where: { key }, data: { resetAt: new Date(Date.now() - 1000) } })
		expect(await hitRateLimit(key, 1, 60)).toMatchObject({ allowed: true, remaining: 0 })
	})

	test('concurrent hits are all counted (one atomic upsert)', async () => {
		const key = `test:${crypto.randomUUID()}`
		const results = await Promise.all(Array.from({ length: 12 }, () => hitRateLimit(key, 5, 60)))
		expect(results.filter((r) => r.allowed)).toHaveLength(5)
	})

	test('messages: seconds, minutes or hours, French and English; Retry-After in whole seconds', () => {
		expect(rateLimitProblem(42)).toEqual({ error: 'rateLimit.retrySeconds', vars: { seconds: 42 } })
		expect(rateLimitProblem(1800)).toEqual({ error: 'rateLimit.retryMinutes', vars: { minutes: 30 } })
		expect(rateLimitProblem(20 * 3600 + 1)).toEqual({ error: 'rateLimit.retryHours', vars: { hours: 21 } })
		expect(retryAfterHeader(0.2)).toEqual({ 'Retry-After': '1' })
		const error = new RateLimitError('uploads', 600)
		const html = rateLimitedResponse(new Request('http://x/', { headers: { Accept: 'text/html' } }), error, 'fr')
		expect(html.status).toBe(429)
		expect(html.headers.get('Retry-After')).toBe('600')
		expect(html.headers.get('Content-Type')).toMatch(/^text\/html/)
		const json = rateLimitedResponse(new Request('http://x/', { headers: { Accept: 'application/json' } }), error, 'en')
		expect(json.headers.get('Retry-After')).toBe('600')
		return Promise.all([
			html.text().then((text) => expect(text).toContain('Trop de demandes en peu de temps. Réessayez dans 10 min.')),
			json.json().then((body) =>
				expect(body).toEqual({
					error: 'rate_limited',
					message: 'Too many requests in a short time. Try again in 10 min.',
					retryAfterSeconds: 600,
				}),
			),
		])
	})

	test('fail-closed: with Postgres out of reach the check throws, it never lets a request through uncounted', async () => {
		const url = process.env.DATABASE_URL
		await disconnectDb()
		// A port nothing listens on, on this machine.
		process.env.DATABASE_URL = 'postgresql://postgres:postgres@127.0.0.1:9/none'
		reloadEnv()
		try {
			expect(await refusal(enforceRateLimit('orders', crypto.randomUUID()))).toBeInstanceOf(Error)
			expect(await refusal(enforceRateLimit('orders', crypto.randomUUID()))).not.toBeInstanceOf(RateLimitError)
		} finally {
			await disconnectDb()
			process.env.DATABASE_URL = url
			reloadEnv()
		}
		await enforceRateLimit('orders', crypto.randomUUID())
	})
})
