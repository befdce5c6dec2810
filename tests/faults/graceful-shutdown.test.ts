import http from 'node:http'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { privileged } from '#app/utils/db.server.ts'
import { startSmtpServer } from '#tests/fakes/smtp.ts'
import { startServerProcess, startWorkerProcess, tail } from '#tests/utils/app-process.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { until } from '#tests/utils/until.ts'
import { WebClient } from '#tests/utils/web-client.ts'

// SIGTERM (what Fly and docker send before a deploy) to the real worker and to the real web
// server, each in the middle of work: the worker lets a running job finish within its grace
// period, or hands it back to the queue when the period ends, then exits 0; the web server
// finishes the request in flight and refuses new connections meanwhile, then exits 0.
//
// The worker's job is a login email (queued by the real /login route), sent to a real SMTP
// server that is made slow to answer: the job is then in flight for as long as the test needs.

let smtp: Awaited<ReturnType<typeof startSmtpServer>>
let server: Awaited<ReturnType<typeof startServerProcess>> | undefined
const workers: ReturnType<typeof startWorkerProcess>[] = []

beforeAll(async () => {
	smtp = await startSmtpServer()
	server = await startServerProcess()
})

afterAll(async () => {
	for (const worker of workers) await worker.stop('SIGKILL')
	await server?.stop('SIGKILL')
	await smtp?.close()
})

type Job = { id: string; state: string }

async function emailJobs() {
	return privileged().$queryRaw<Job[]>`SELECT id::text, state::text FROM pgboss.job WHERE name = 'email-send'`
}

/** Asks the real server for a login email to `email`; resolves with the id of the job that sends it. */
async function queueLoginEmail(email: string) {
	const before = new Set((await emailJobs()).map((job) => job.id))
	const response = await new WebClient(server!.url).post('/login', { email })
	expect(response.status, await response.text()).toBe(302)
	const created = (await emailJobs()).filter((job) => !before.has(job.id))
	expect(created).toHaveLength(1)
	return created[0]!.id
}

async function jobState(id: string) {
	return (await emailJobs()).find((job) => job.id === id)?.state
}

function startWorker(graceSeconds: number) {
	const worker = startWorkerProcess({ env: { SMTP_URL: smtp.url, WORKER_SHUTDOWN_GRACE_SECONDS: String(graceSeconds) } })
	workers.push(worker)
	return worker
}

const sentTo = (email: string) => smtp.messages.filter((m) => [m.to].flat().some((to) => to?.value.some((v) => v.address === email)))

describe('worker', () => {
	test('SIGTERM while a job runs: the job finishes within the grace period, then the worker exits 0', { timeout: 90_000 }, async () => {
		// The SMTP server answers after 3 s: SIGTERM lands while the job waits for it.
		smtp.setReplyDelay(3_000)
		const email = `fin.${Date.now()}@agence-exemple.fr`
		const job = await queueLoginEmail(email)
		const worker = startWorker(20)
		await worker.ready
		await until(
			'the job to start',
			() => jobState(job),
			(state) => state === 'active',
			{ intervalMs: 50 },
		)

		expect(await worker.stop('SIGTERM'), tail(worker.lines)).toBe(0)

		expect(await jobState(job)).toBe('completed')
		expect(sentTo(email)).toHaveLength(1)
		expect(worker.lines.filter((line) => line.includes('"level":"error"'))).toEqual([])
	})

	test(
		'a job still running when the grace period ends goes back to the queue (not left active), and runs again',
		{ timeout: 120_000 },
		async () => {
			// The answer would come after a minute: far past the 2 s grace period.
			smtp.setReplyDelay(60_000)
			const email = `relance.${Date.now()}@agence-exemple.fr`
			const job = await queueLoginEmail(email)
			const worker = startWorker(2)
			await worker.ready
			await until(
				'the job to start',
				() => jobState(job),
				(state) => state === 'active',
				{ intervalMs: 50 },
			)

			expect(await worker.stop('SIGTERM'), tail(worker.lines)).toBe(0)

			expect(await jobState(job)).toBe('retry')
			expect(sentTo(email)).toEqual([])

			// The next worker picks it up (after pg-boss's retry delay) and sends it, once.
			smtp.setReplyDelay(0)
			const next = startWorker(20)
			await next.ready
			await until(
				'the handed-back job to complete',
				() => jobState(job),
				(state) => state === 'completed',
				{ timeoutMs: 60_000 },
			)
			expect(sentTo(email)).toHaveLength(1)
			expect(await next.stop('SIGTERM')).toBe(0)
		},
	)
})

describe('web server', () => {
	test('SIGTERM during an upload: that request completes, new connections are refused, then it exits 0', { timeout: 90_000 }, async () => {
		const app = server!
		const user = await loggedInUser()
		const { id: projectId } = await privileged().project.create({
			data: { userId: user.id, name: 'Chalet de Megève' },
			select: { id: true },
		})
		const browser = new WebClient(app.url, user.jar)
		const token = await browser.csrf()

		const photo = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 200, g: 170, b: 120 } } })
			.jpeg({ quality: 95 })
			.toBuffer()
		const boundary = `----renzo${Date.now()}`
		const head = Buffer.from(
			`--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="sejour.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
		)
		const end = Buffer.from(`\r\n--${boundary}--\r\n`)
		const half = Math.floor(photo.length / 2)
		// The body is sent in two halves: the second only after SIGTERM.
		let push!: ReadableStreamDefaultController<Uint8Array>
		const body = new ReadableStream<Uint8Array>({ start: (controller) => void (push = controller) })
		push.enqueue(new Uint8Array(Buffer.concat([head, photo.subarray(0, half)])))
		const upload = browser.request(`/projects/${projectId}/upload`, {
			method: 'POST',
			body,
			duplex: 'half',
			headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, Accept: 'application/json', 'X-CSRF-Token': token },
			signal: AbortSignal.timeout(60_000),
		} as RequestInit)
		// In flight: the route has read the first bytes and written the photo's row.
		await until(
			'the upload to reach the route',
			() => privileged().photo.findMany({ where: { projectId }, select: { status: true } }),
			(rows) => rows.length === 1 && rows[0]!.status === 'uploading',
			{ intervalMs: 50 },
		)

		app.child.kill('SIGTERM')
		// A new connection (no keep-alive reuse) is refused once the server has stopped listening.
		await until(
			'new connections to be refused',
			() => connectionError(app.port),
			(error) => error === 'ECONNREFUSED',
			{
				timeoutMs: 10_000,
				intervalMs: 50,
			},
		)
		expect(app.child.exitCode).toBeNull()

		push.enqueue(new Uint8Array(Buffer.concat([photo.subarray(half), end])))
		push.close()
		const response = await upload
		const result = (await response.json()) as { files: { ok: boolean; photoId: string }[] }
		expect(response.status).toBe(200)
		expect(result.files).toEqual([expect.objectContaining({ ok: true })])
		expect(
			await privileged().photo.findUniqueOrThrow({ where: { id: result.files[0]!.photoId }, select: { status: true, sizeBytes: true } }),
		).toEqual({ status: 'processing', sizeBytes: BigInt(photo.length) })

		await app.exited
		expect(app.child.exitCode, tail(app.lines)).toBe(0)
		server = undefined
	})
})

/** The error code of a fresh TCP connection attempt to the port, or null when it was accepted. */
function connectionError(port: number): Promise<string | null> {
	return new Promise((resolve) => {
		const request = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 5_000 }, (response) => {
			response.resume()
			resolve(null)
		})
		request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
		request.on('timeout', () => request.destroy(new Error('timeout')))
	})
}
