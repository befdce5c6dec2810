import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/**
 * A real SMTP server on 127.0.0.1 that keeps every message it receives, parsed. `replyDelayMs`
 * (changeable later) holds the final answer to each message that long, like a slow relay: a
 * client that leaves meanwhile has not sent it, and the message is not kept.
 */
export async function startSmtpServer(
	options: { onMessage?: (mail: ParsedMail, envelopeTo: string[]) => void; replyDelayMs?: number } = {},
) {
	const messages: ParsedMail[] = []
	const waiters: (() => void)[] = []
	const closed = new Set<string>()
	const slow = { replyDelayMs: options.replyDelayMs ?? 0 }
	const server = new SMTPServer({
		secure: false,
		authOptional: true,
		// Otherwise it offers STARTTLS with an expired built-in certificate (STACK-NOTES).
		disabledCommands: ['STARTTLS'],
		logger: false,
		onClose(session) {
			closed.add(session.id)
		},
		onData(stream, session, callback) {
			simpleParser(stream)
				.then(async (mail) => {
					if (slow.replyDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, slow.replyDelayMs))
					if (closed.has(session.id)) return callback()
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
		/** Holds the answer to each message this long (0: at once). */
		setReplyDelay(ms: number) {
			slow.replyDelayMs = ms
		},
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
