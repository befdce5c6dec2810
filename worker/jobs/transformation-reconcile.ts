import { reconcileTransformations } from '#app/modules/transformations/run.server.ts'
import { log } from '#app/utils/logger.server.ts'

/** Every minute: predictions whose webhook never came, and transformations past their timeout. */
export async function transformationReconcile() {
	const result = await reconcileTransformations()
	if (result.checked > 0) log.info('transformations reconciled', result)
}
