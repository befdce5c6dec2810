import type { EmailMessage } from '#app/modules/email/message.ts'
import { unseal } from '#app/utils/crypto.server.ts'
import { privileged } from '#app/utils/db.server.ts'

/** The emails queued for `to` (newest first), read from pg-boss's job table and unsealed. */
export async function queuedEmailsTo(to: string): Promise<EmailMessage[]> {
	const jobs = await privileged().$queryRaw<{ data: { sealed: string } }[]>`
		SELECT data FROM pgboss.job WHERE name = 'email-send' ORDER BY created_on DESC`
	return jobs.map((job) => unseal<EmailMessage>(job.data.sealed)).filter((message) => message.to === to)
}

/** The code and link of the latest login email to `to`. */
export async function latestLoginEmail(to: string) {
	const [message] = await queuedEmailsTo(to)
	if (!message) throw new Error(`no email queued for ${to}`)
	const code = /(\d{6})/.exec(message.subject)?.[1]
	const link = /(https?:\/\/\S+\/login\/verify\?token=[^\s"<]+)/.exec(message.text)?.[1]
	if (!code || !link) throw new Error('login email without code or link')
	return { message, code, link: new URL(link) }
}
