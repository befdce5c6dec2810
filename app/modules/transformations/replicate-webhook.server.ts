import type { Readable } from 'node:stream'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import { auditSignatureFailure, limitWebhookCaller } from '#app/modules/security/webhook-guard.server.ts'
import { webhookBody } from '#app/utils/body.server.ts'
import { Prisma, privilegedDirect } from '#app/utils/db.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { verifyReplicateWebhook } from './replicate.server.ts'
import { replicate } from './run.server.ts'

/** A prediction is a few kB; anything much larger is not Replicate. */
const MAX_BODY_BYTES = 256 * 1024

/**
 * POST /webhooks/replicate, Replicate's completion webhook. Signature and timestamp (5 min) are
 * checked on the raw body; the event is stored under its webhook-id (a replay is acknowledged and
 * ignored) and the work goes to a job in the same transaction, so the answer is fast and nothing
 * is lost. Callers are limited per IP (generously). `body`: the request's body as a Node stream.
 */
export async function receiveReplicateWebhook(request: Request, body: Readable | null): Promise<Response> {
	const limited = await limitWebhookCaller(request)
	if (limited) return limited
	const read = await webhookBody(request, MAX_BODY_BYTES, body)
	if ('refusal' in read) return read.refusal
	const { rawBody } = read
	let secret: string
	try {
		secret = await replicate().webhookSecret()
	} catch (error) {
		log.error('replicate webhook secret unavailable', { error })
		return new Response('not configured', { status: 503 })
	}
	const verified = verifyReplicateWebhook({ headers: request.headers, rawBody, secret })
	if (!verified.ok) {
		log.warn('replicate webhook refused', { reason: verified.reason })
		await auditSignatureFailure(request, 'replicate', verified.reason)
		return new Response('invalid signature', { status: 401 })
	}
	const { webhookId, prediction } = verified
	// One of every transformation's statements: on the direct path (privilegedDirect); the verified
	// body goes in as it came (jsonb parses it).
	await privilegedDirect.transaction(async (sql) => {
		const inserted = await sql.query(Prisma.sql`
			INSERT INTO webhook_events (provider, id, type, payload)
			VALUES ('replicate', ${webhookId}, ${`prediction.${prediction.status}`}, ${rawBody}::jsonb)
			ON CONFLICT DO NOTHING
			RETURNING 1`)
		if (inserted.length === 0) return
		await enqueue('transformation-complete', { predictionId: prediction.id, webhookId }, { sql })
	})
	return new Response(null, { status: 204 })
}
