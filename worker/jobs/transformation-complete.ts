import type { Payload } from '#app/modules/queue/catalog.ts'
import { completePrediction, replicate } from '#app/modules/transformations/run.server.ts'

/**
 * A verified Replicate webhook said a prediction finished. The state is read again from the API
 * (the webhook only says "look now"), so a replayed or reordered webhook cannot change anything.
 */
export async function transformationComplete(data: Payload<'transformation-complete'>) {
	const state = await replicate().get(data.predictionId)
	await completePrediction(state)
}
