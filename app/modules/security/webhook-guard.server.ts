import { audit, clientIp } from '#app/modules/audit/audit.server.ts'
import { hashIp } from '#app/utils/crypto.server.ts'
import { enforceRateLimit, hitRateLimit, rateLimitedResponse, RateLimitError } from './rate-limit.server.ts'

/** Signature failures audited per source IP and hour; past that a flood is only counted, not written. */
const AUDITED_FAILURES_PER_IP_PER_HOUR = 10

const ipSubject = (request: Request) => hashIp(clientIp(request)) ?? 'unknown'

/**
 * The incoming-webhook budget per source IP (WEBHOOKS_PER_IP_PER_MINUTE), checked before the
 * body is read: null when the call may go on, else the 429 to answer (JSON, Retry-After).
 */
export async function limitWebhookCaller(request: Request): Promise<Response | null> {
	try {
		await enforceRateLimit('webhooks', ipSubject(request), { request })
		return null
	} catch (error) {
		if (error instanceof RateLimitError) return rateLimitedResponse(request, error, 'fr')
		throw error
	}
}

/**
 * Records a refused webhook signature in the audit log: no user, the provider and a short
 * reason, never the payload or the headers; at most a few rows per IP and hour.
 */
export async function auditSignatureFailure(request: Request, provider: 'stripe' | 'replicate', reason: string) {
	const cap = await hitRateLimit(`audit-webhook-signature:${ipSubject(request)}`, AUDITED_FAILURES_PER_IP_PER_HOUR, 3600)
	if (cap.allowed) await audit('webhook.signature_failed', { userId: null, request, data: { provider, reason } })
}
