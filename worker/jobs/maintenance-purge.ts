import { purgeExpiredLoginData } from '#app/modules/auth/maintenance.server.ts'
import { purgeRateLimits } from '#app/modules/security/rate-limit.server.ts'

/** Hourly: expired rate-limit windows, old login verifications and dead sessions. */
export async function maintenancePurge() {
	await purgeRateLimits()
	await purgeExpiredLoginData()
}
