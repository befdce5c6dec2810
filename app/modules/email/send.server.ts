import nodemailer, { type Transporter } from 'nodemailer'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import { seal, unseal } from '#app/utils/crypto.server.ts'
import type { Tx } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import type { EmailMessage } from './message.ts'
import { writeToOutbox } from './outbox.server.ts'

/**
 * Queues an email for the worker. The message is sealed (AES-GCM) in the job payload since it
 * may hold a login code. With `tx`, it is sent only if that transaction commits.
 */
export async function queueEmail(message: EmailMessage, options: { tx?: Tx } = {}) {
	return enqueue('email-send', { sealed: seal(message) }, { tx: options.tx })
}

const transports = new Map<string, Transporter>()

/** Delivers a sealed message: over SMTP_URL, or to the dev outbox without it. Throws to retry. */
export async function deliverSealedEmail(sealed: string, smtpUrl = getEnv().SMTP_URL) {
	const message = unseal<EmailMessage>(sealed)
	const env = getEnv()
	if (!smtpUrl) {
		const entry = await writeToOutbox(message)
		// The dev outbox prints to the console on purpose: it is how you log in locally.
		console.log(`\n📬 [outbox] ${message.subject}\n${message.text}\n   (also at ${env.APP_URL}/dev/outbox, ${entry.id})\n`)
		return
	}
	let transport = transports.get(smtpUrl)
	if (!transport) transports.set(smtpUrl, (transport = nodemailer.createTransport(smtpUrl)))
	const info = await transport.sendMail({
		from: env.MAIL_FROM,
		to: message.to,
		subject: message.subject,
		text: message.text,
		html: message.html,
	})
	log.info('email sent', { messageId: info.messageId })
}
