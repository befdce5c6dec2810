import { privileged } from '#app/utils/db.server.ts'

const DAY_MS = 86_400_000

/** Deletes login verifications older than a day and sessions expired or revoked a week ago. */
export async function purgeExpiredLoginData(now = new Date()) {
	const db = privileged()
	await db.loginVerification.deleteMany({ where: { createdAt: { lt: new Date(now.getTime() - DAY_MS) } } })
	await db.session.deleteMany({
		where: { OR: [{ expiresAt: { lt: now } }, { revokedAt: { lt: new Date(now.getTime() - 7 * DAY_MS) } }] },
	})
}
