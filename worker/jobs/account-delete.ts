import { eraseAccount } from '#app/modules/gdpr/erase.server.ts'
import type { Payload } from '#app/modules/queue/catalog.ts'

/** Erases an account whose owner confirmed the deletion, or sweeps after one (decision 012). */
export async function accountDelete(data: Payload<'account-delete'>) {
	await eraseAccount(data)
}
