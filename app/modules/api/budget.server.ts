import { enforceRateLimit, RateLimitError } from '#app/modules/security/rate-limit.server.ts'
import type { ApiUser } from './auth.server.ts'
import { ApiError } from './errors.server.ts'

/**
 * The account's hourly budgets for uploads and orders, shared with the web (an agent does not
 * get a second budget by going through the API): a 429 with Retry-After past them. Counted
 * before any side effect, like the web.
 */
export async function spendAccountBudget(rule: 'uploads' | 'orders', user: ApiUser, request: Request) {
	try {
		await enforceRateLimit(rule, user.id, { userId: user.id, request })
	} catch (error) {
		if (!(error instanceof RateLimitError)) throw error
		const seconds = Math.max(1, Math.ceil(error.retryAfterSeconds))
		throw new ApiError(
			'rate_limited',
			'api.error.accountBudget',
			{ minutes: Math.ceil(seconds / 60) },
			{ headers: { 'Retry-After': String(seconds) } },
		)
	}
}
