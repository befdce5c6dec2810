import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useT } from '#app/modules/i18n/use-t.ts'

type RateLimited = { rateLimited: { error: MessageKey; vars?: Record<string, number> } }

function isRateLimited(value: unknown): value is RateLimited {
	return Boolean(value && typeof value === 'object' && 'rateLimited' in value)
}

/** The "too many requests, try again in …" message of a refused form (rateLimitedData in rate-limit.server.ts). */
export function RateLimitAlert({ actionData }: { actionData: unknown }) {
	const t = useT()
	if (!isRateLimited(actionData)) return null
	return (
		<p className="alert alert-error" role="alert">
			{t(actionData.rateLimited.error, actionData.rateLimited.vars)}
		</p>
	)
}
