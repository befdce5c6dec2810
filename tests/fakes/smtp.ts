import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/** A real SMTP server on 127.0.0.1 that keeps every message it receives, parsed. */
export async function startSmtpServer(options: { onMessage?: (mail: ParsedMail, envelopeTo: string[]) => void } = {}) {
	const messages: ParsedMail[] = []
	const waiters: (() => void)[] = []
	const server = new SMTPServer({
		secure: false,
		authOptional: true,
		// Otherwise it offers STARTTLS with an expired built-in certificate (STACK-NOTES).
		disabledCommands: ['STARTTLS'],
		logger: false,
		onData(stream, session, callback) {
			simpleParser(stream)
				.then((mail) => {
					messages.push(mail)
					options.onMessage?.(
						mail,
						session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
					)
					waiters.splice(0).forEach((wake) => wake())
					callback()
				})
				.catch(callback)
		},
	})
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const port = (server.server.address() as AddressInfo).port
	return {
		url: `smtp://127.0.0.1:${port}`,
		port,
		messages,
		/** Resolves with the first message to `to` (waits up to `timeoutMs`). */
		async waitFor(to: string, timeoutMs = 15_000): Promise<ParsedMail> {
			const deadline = Date.now() + timeoutMs
			for (;;) {
				const found = messages.find((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((a) => a?.value.some((v) => v.address === to)))
				if (found) return found
				if (Date.now() > deadline) throw new Error(`no email to ${to} within ${timeoutMs} ms`)
				await new Promise<void>((resolve) => {
					waiters.push(resolve)
					setTimeout(resolve, 200).unref()
				})
			}
		},
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	}
}
