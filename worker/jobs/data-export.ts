import { buildExport } from '#app/modules/gdpr/export.server.ts'
import type { Payload } from '#app/modules/queue/catalog.ts'

/** Builds a GDPR export archive and emails its link. */
export async function dataExport(data: Payload<'data-export'>) {
	await buildExport(data.exportId)
}
