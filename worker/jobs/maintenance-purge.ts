import { purgeIdempotencyKeys } from '#app/modules/api/idempotency.server.ts'
import { purgeExpiredLoginData } from '#app/modules/auth/maintenance.server.ts'
import { purgeExpiredExports } from '#app/modules/gdpr/export.server.ts'
import { purgeStaleUploads } from '#app/modules/photos/photos.server.ts'
import { purgeRateLimits } from '#app/modules/security/rate-limit.server.ts'
import { purgeWebhookLog } from '#app/modules/webhooks-out/deliver.server.ts'

/** Hourly: expired rate-limit windows, old login verifications, dead sessions, uploads cut by a crash, expired data exports, API idempotency records past 24 h, outgoing webhook events and their delivery log past 30 days. */
export async function maintenancePurge() {
	await purgeRateLimits()
	await purgeExpiredLoginData()
	await purgeStaleUploads()
	await purgeExpiredExports()
	await purgeIdempotencyKeys()
	await purgeWebhookLog()
}
