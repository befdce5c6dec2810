/** The events a user can subscribe an endpoint to (outgoing webhooks). Shared by pages and server. */
export const WEBHOOK_EVENT_TYPES = ['transformation.succeeded', 'transformation.failed', 'batch.completed', 'credits.low'] as const
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

/** Sent by « Envoyer un test » to one endpoint, whatever it subscribed to. */
export const TEST_EVENT_TYPE = 'webhook.test'

export function isWebhookEventType(value: unknown): value is WebhookEventType {
	return typeof value === 'string' && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value)
}

/** The headers of every delivery (lower case, as Node exposes them to receivers). */
export const WEBHOOK_HEADERS = {
	id: 'renzo-webhook-id',
	timestamp: 'renzo-webhook-timestamp',
	signature: 'renzo-signature',
} as const
