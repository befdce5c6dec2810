import { processPhoto } from '#app/modules/photos/process.server.ts'
import type { Payload } from '#app/modules/queue/catalog.ts'

/** Makes the variants of one uploaded photo. */
export async function photoProcess(data: Payload<'photo-process'>) {
	await processPhoto(data.photoId)
}
