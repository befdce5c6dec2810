import fs from 'node:fs/promises'
import path from 'node:path'
import { inject } from 'vitest'

/** One message as the harness's SMTP server received it (tests/e2e/global-setup.ts). */
export type ReceivedMail = {
	receivedAt: number
	envelopeTo: string[]
	from: string[]
	to: string[]
	subject: string
	text: string
	html: string
}

async function readAll(): Promise<ReceivedMail[]> {
	const dir = inject('mailDir')
	const names = (await fs.readdir(dir)).filter((name) => name.endsWith('.json')).sort()
	return Promise.all(names.map(async (name) => JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')) as ReceivedMail))
}

/** Every message received so far for `address` (envelope recipient), oldest first. */
export async function mailsTo(address: string): Promise<ReceivedMail[]> {
	const wanted = address.toLowerCase()
	return (await readAll()).filter((mail) => mail.envelopeTo.includes(wanted))
}

/**
 * Waits for the newest message to `address`, received at or after `since` (ms epoch), as an
 * inbox would show it. Fails after `timeoutMs` with the list of what did arrive.
 */
export async function waitForMail(address: string, options: { since?: number; timeoutMs?: number } = {}): Promise<ReceivedMail> {
	const { since = 0, timeoutMs = 15_000 } = options
	const deadline = Date.now() + timeoutMs
	for (;;) {
		const found = (await mailsTo(address)).filter((mail) => mail.receivedAt >= since)
		const newest = found.at(-1)
		if (newest) return newest
		if (Date.now() > deadline) {
			const seen = (await readAll()).map((mail) => `${mail.envelopeTo.join(',')}: ${mail.subject}`)
			throw new Error(`No email to ${address} within ${timeoutMs / 1000} s. Received: ${seen.length ? seen.join(' | ') : 'nothing'}`)
		}
		await new Promise((resolve) => setTimeout(resolve, 100))
	}
}

/** The 6-digit code of a login email, read from its subject ("… : 123456"). */
export function loginCode(mail: ReceivedMail): string {
	const match = /(\d{6})\s*$/.exec(mail.subject)
	if (!match) throw new Error(`No 6-digit code in the subject "${mail.subject}"`)
	return match[1]!
}

/** The magic link of a login email, read from its plain-text part. */
export function loginLink(mail: ReceivedMail): string {
	const match = /https?:\/\/\S+\/login\/verify\?token=[^\s"<>]+/.exec(mail.text)
	if (!match) throw new Error(`No login link in the email:\n${mail.text}`)
	return match[0]
}
