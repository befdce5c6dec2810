import { runRetention } from '#app/modules/gdpr/retention.server.ts'

/** Daily: originals of long-archived projects, expired export archives (decision 012). */
export async function gdprRetention() {
	await runRetention()
}
