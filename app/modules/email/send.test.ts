import { spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startSmtpServer } from '#tests/fakes/smtp.ts'

// SMTP_URL must be set before the app reads its configuration, hence the dynamic imports.
const smtp = await startSmtpServer()
process.env.SMTP_URL = smtp.url
const { queueEmail, deliverSealedEmail } = await import('./send.server.ts')
const { loginEmail } = await import('./templates.server.ts')
const { privileged } = await import('#app/utils/db.server.ts')
const { seal } = await import('#app/utils/crypto.server.ts')

afterAll(() => smtp.close())

describe('email', () => {
	let message: ReturnType<typeof loginEmail>
	beforeAll(() => {
		message = loginEmail({
			to: 'élodie.martin@agence-exemple.fr',
			locale: 'fr',
			code: '482913',
			link: 'http://localhost:3000/login/verify?token=abc',
			minutes: 15,
		})
	})

	test('the queued job holds the message sealed, never the code in clear', async () => {
		await queueEmail(message)
		const [job] = await privileged().$queryRaw<
			{ data: unknown }[]
		>`SELECT data FROM pgboss.job WHERE name = 'email-send' ORDER BY created_on DESC LIMIT 1`
		const raw = JSON.stringify(job!.data)
		expect(raw).not.toContain('482913')
		expect(raw).not.toContain('élodie')
	})

	test('delivered over SMTP with a French subject and a UTF-8 address intact', async () => {
		await deliverSealedEmail(seal(message))
		const mail = await smtp.waitFor('élodie.martin@agence-exemple.fr')
		expect(mail.subject).toBe('Votre code de connexion Renzo : 482913')
		expect(mail.text).toContain('482913')
		expect(mail.text).toContain('http://localhost:3000/login/verify?token=abc')
		expect(mail.html).toContain('Me connecter')
	})

	test('an SMTP failure throws, so pg-boss retries the job', async () => {
		const down = await startSmtpServer()
		await down.close()
		await expect(deliverSealedEmail(seal(message), down.url)).rejects.toThrow(/ECONNREFUSED|connect/)
	})

	test('the real worker process drains a backlog of queued mail and stops cleanly on SIGTERM', async () => {
		const to = `worker.${Date.now()}@agence-exemple.fr`
		// A backlog queued before the worker starts (no NOTIFY will wake it for these).
		for (let i = 0; i < 6; i++) await queueEmail({ ...message, to: `backlog${i}.${to}` })
		await queueEmail({ ...message, to })
		const worker = spawn(process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, '../../../worker/index.ts')], {
			env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn' },
			stdio: ['ignore', 'pipe', 'pipe'],
		})
		let output = ''
		worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
		worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
		try {
			const mail = await smtp.waitFor(to, 20_000).catch(async (error: Error) => {
				const jobs = await privileged()
					.$queryRawUnsafe(`SELECT id, state, start_after, created_on, retry_count, policy FROM pgboss.job WHERE name = 'email-send'`)
					.catch((e: Error) => e.message)
				throw new Error(`${error.message}\n--- worker output ---\n${output}\n${JSON.stringify(jobs)}`)
			})
			expect(mail.subject).toBe('Votre code de connexion Renzo : 482913')
			for (let i = 0; i < 6; i++) await smtp.waitFor(`backlog${i}.${to}`, 10_000)
		} finally {
			const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve))
			worker.kill('SIGTERM')
			expect(await exited, output).toBe(0)
		}
	})
})
