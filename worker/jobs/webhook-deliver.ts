import type { Payload } from '#app/modules/queue/catalog.ts'
import { deliverWebhook } from '#app/modules/webhooks-out/deliver.server.ts'

/** One attempt of one outgoing webhook delivery; a throw (receiver failed, attempts left) lets pg-boss retry with backoff. */
export async function webhookDeliver(data: Payload<'webhook-deliver'>) {
	await deliverWebhook(data.deliveryId, { manual: data.manual })
}
