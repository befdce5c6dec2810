import type { Payload } from '#app/modules/queue/catalog.ts'
import { completeFromWebhook } from '#app/modules/transformations/run.server.ts'

/**
 * A verified Replicate webhook said a prediction finished: the route stored its body (after the
 * signature, timestamp and webhook-id checks) and queued this job. A replayed webhook never gets
 * here (deduplicated on its id); see completeFromWebhook for the rest.
 */
export async function transformationComplete(data: Payload<'transformation-complete'>) {
	await completeFromWebhook(data.predictionId, data.webhookId ?? null)
}
