import { deliverSealedEmail } from '#app/modules/email/send.server.ts'
import type { Payload } from '#app/modules/queue/catalog.ts'

/** Sends one email; a throw (SMTP down) lets pg-boss retry with backoff. */
export async function emailSend(data: Payload<'email-send'>) {
	await deliverSealedEmail(data.sealed)
}
