import type { Payload } from '#app/modules/queue/catalog.ts'
import { runTransformation } from '#app/modules/transformations/run.server.ts'

/** Starts (or resumes after a crash) one ordered transformation (both queues: Replicate and local). */
export async function transformationRun(data: Payload<'transformation-run' | 'transformation-local'>) {
	await runTransformation(data.transformationId)
}
