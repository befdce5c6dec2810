import type { Payload } from '#app/modules/queue/catalog.ts'
import { toState, type PredictionState } from '#app/modules/transformations/replicate.server.ts'
import { completePrediction, replicate } from '#app/modules/transformations/run.server.ts'
import { privileged } from '#app/utils/db.server.ts'

/**
 * A verified Replicate webhook said a prediction finished. Its body, stored by the route after
 * the signature, timestamp and webhook-id checks, is the prediction's final state: used as it is
 * when it is one (a `completed` event: succeeded, failed or canceled, which never change again).
 * Otherwise (an older job without webhookId, an unexpected event) the state is read from the API.
 * A replayed webhook never gets here (deduplicated on its id), and a finished transformation is
 * left alone by completePrediction whatever it is told.
 */
export async function transformationComplete(data: Payload<'transformation-complete'>) {
	const state = (data.webhookId && (await fromWebhook(data.webhookId, data.predictionId))) || (await replicate().get(data.predictionId))
	await completePrediction(state)
}

async function fromWebhook(webhookId: string, predictionId: string): Promise<PredictionState | null> {
	const event = await privileged().webhookEvent.findUnique({
		where: { provider_id: { provider: 'replicate', id: webhookId } },
		select: { payload: true },
	})
	if (!event) return null
	let state: PredictionState
	try {
		state = toState(event.payload)
	} catch {
		return null
	}
	const final = state.status === 'succeeded' || state.status === 'failed' || state.status === 'canceled'
	return final && state.id === predictionId ? state : null
}
