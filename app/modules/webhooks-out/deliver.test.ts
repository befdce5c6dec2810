import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { queues } from '#app/modules/queue/catalog.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { documentedVerifier, startWebhookReceiver, type DocumentedVerifier, type WebhookReceiver } from '#tests/fakes/webhook-receiver.ts'
import { createTestUser } from '#tests/utils/db.ts'
import { queuedEmailsTo } from '#tests/utils/mail.ts'
import { until } from '#tests/utils/until.ts'
import { handlers } from '#worker/jobs/index.ts'
import { startWorker } from '#worker/start.ts'
import {
	DeliveryRetryError,
	deliverWebhook,
	MAX_AUTO_ATTEMPTS,
	purgeWebhookLog,
	retrySchedule,
	WEBHOOK_LOG_RETENTION_DAYS,
} from './deliver.server.ts'
import { emitUserEvent } from './emit.server.ts'
import { createEndpoint, resendDelivery } from './endpoints.server.ts'
import { WEBHOOK_EVENT_TYPES } from './events.ts'

// Deliveries with real parts: the receiver is a real HTTP server on 127.0.0.1 (the only address
// any test talks to), the jobs are the real handlers, run here the way pg-boss runs them
// (again after each throw), or by a real pg-boss worker with short delays.

let verify: DocumentedVerifier
let receiver: WebhookReceiver

beforeAll(async () => {
	process.env.WEBHOOKS_ALLOW_LOOPBACK = 'true'
	reloadEnv()
	verify = await documentedVerifier()
	receiver = await startWebhookReceiver()
})

afterAll(async () => {
	await receiver?.close()
	delete process.env.WEBHOOKS_ALLOW_LOOPBACK
	reloadEnv()
})

async function setup(url = receiver.url) {
	const user = await createTestUser()
	const endpoint = await createEndpoint(user.id, { url, description: 'Logiciel d’annonces', events: [...WEBHOOK_EVENT_TYPES] })
	return { user, endpointId: endpoint.id, secret: endpoint.secret }
}

/** Emits a `credits.low` event the way an order does (inside a transaction); returns its only delivery. */
async function emit(userId: string, balance = 3) {
	const event = await privileged().$transaction((tx) => emitUserEvent(tx, userId, 'credits.low', { balance, threshold: 5 }))
	expect(event?.deliveryIds).toHaveLength(1)
	return { eventId: event!.id, deliveryId: event!.deliveryIds[0]! }
}

/** One run of the job as pg-boss makes it: 'retry' when it threw for a retry. */
async function runJob(deliveryId: string, options: Parameters<typeof deliverWebhook>[1] = {}) {
	try {
		return await deliverWebhook(deliveryId, options)
	} catch (error) {
		if (error instanceof DeliveryRetryError) return 'retry' as const
		throw error
	}
}

const attemptsOf = (deliveryId: string) =>
	privileged().webhookAttempt.findMany({
		where: { deliveryId },
		orderBy: { number: 'asc' },
		select: { number: true, trigger: true, statusCode: true, error: true },
	})
const deliveryOf = (deliveryId: string) =>
	privileged().webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId }, select: { status: true, attempts: true, deliveredAt: true } })
const requestsFor = (eventId: string) => receiver.received.filter((r) => r.headers['renzo-webhook-id'] === eventId)

describe('delivery', () => {
	test('signed JSON POST as documented; a 500 is retried with the same event id until a 2xx; every attempt logged', async () => {
		const { user, secret } = await setup()
		const { eventId, deliveryId } = await emit(user.id)
		// The job was written by the emitting transaction.
		const jobs = await privileged().$queryRaw<{ n: bigint }[]>`
			SELECT count(*) AS n FROM pgboss.job WHERE name = 'webhook-deliver' AND singleton_key = ${deliveryId}`
		expect(Number(jobs[0]!.n)).toBe(1)

		receiver.answer(500, 503)
		expect(await runJob(deliveryId)).toBe('retry')
		expect(await runJob(deliveryId)).toBe('retry')
		expect(await runJob(deliveryId)).toBe('delivered')
		// A duplicate run of the job (pg-boss redelivery) sends nothing more.
		expect(await runJob(deliveryId)).toBe('skipped')

		const requests = requestsFor(eventId)
		expect(requests).toHaveLength(3)
		for (const request of requests) {
			expect(request.method).toBe('POST')
			expect(request.path).toBe('/hooks/renzo')
			expect(request.headers['content-type']).toBe('application/json')
			expect(request.headers['renzo-webhook-timestamp']).toMatch(/^\d{10}$/)
			expect(request.headers['renzo-signature']).toMatch(/^v1=[0-9a-f]{64}$/)
			// The receiver guide's own code accepts it with the secret shown at creation…
			expect(verify(request.rawBody, request.headers, secret)).toBe(true)
			// …and refuses another secret, a changed body, a changed id, an old timestamp.
			expect(verify(request.rawBody, request.headers, `${secret}x`)).toBe(false)
			expect(verify(Buffer.from(request.rawBody.toString().replace('"balance":3', '"balance":30')), request.headers, secret)).toBe(false)
			expect(verify(request.rawBody, { ...request.headers, 'renzo-webhook-id': 'autre' }, secret)).toBe(false)
			expect(verify(request.rawBody, request.headers, secret, -1)).toBe(false)
		}
		// The same bytes every time: { id, type, created_at, data } in that order, no secret.
		expect(new Set(requests.map((r) => r.rawBody.toString())).size).toBe(1)
		const body = JSON.parse(requests[0]!.rawBody.toString()) as Record<string, unknown>
		expect(Object.keys(body)).toEqual(['id', 'type', 'created_at', 'data'])
		expect(body).toMatchObject({ id: eventId, type: 'credits.low', data: { balance: 3, threshold: 5 } })
		expect(requests[0]!.rawBody.toString()).not.toContain(secret)

		expect(await attemptsOf(deliveryId)).toEqual([
			{ number: 1, trigger: 'auto', statusCode: 500, error: null },
			{ number: 2, trigger: 'auto', statusCode: 503, error: null },
			{ number: 3, trigger: 'auto', statusCode: 204, error: null },
		])
		expect(await deliveryOf(deliveryId)).toMatchObject({ status: 'succeeded', attempts: 3 })
	})

	test('receiver down (closed port) → connection refused, retried; back up → delivered', async () => {
		const down = await startWebhookReceiver()
		const { user } = await setup(down.url)
		await down.close()
		const { deliveryId } = await emit(user.id)
		expect(await runJob(deliveryId)).toBe('retry')
		expect(await runJob(deliveryId)).toBe('retry')
		await down.restart()
		expect(await runJob(deliveryId)).toBe('delivered')
		expect(down.received).toHaveLength(1)
		expect(await attemptsOf(deliveryId)).toEqual([
			{ number: 1, trigger: 'auto', statusCode: null, error: 'connection_refused' },
			{ number: 2, trigger: 'auto', statusCode: null, error: 'connection_refused' },
			{ number: 3, trigger: 'auto', statusCode: 204, error: null },
		])
		await down.close()
	})

	test('a receiver that never answers → timeout; a redirect is not followed', async () => {
		const silent = http.createServer(() => {})
		const target = await startWebhookReceiver()
		const redirecting = http.createServer((_req, res) => res.writeHead(302, { Location: target.url }).end())
		for (const server of [silent, redirecting]) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
		try {
			const slow = await setup(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`)
			const slowDelivery = await emit(slow.user.id)
			expect(await runJob(slowDelivery.deliveryId, { timeoutMs: 300 })).toBe('retry')
			expect(await attemptsOf(slowDelivery.deliveryId)).toEqual([{ number: 1, trigger: 'auto', statusCode: null, error: 'timeout' }])

			const moved = await setup(`http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hook`)
			const movedDelivery = await emit(moved.user.id)
			expect(await runJob(movedDelivery.deliveryId)).toBe('retry')
			expect(await attemptsOf(movedDelivery.deliveryId)).toEqual([{ number: 1, trigger: 'auto', statusCode: 302, error: null }])
			expect(target.received).toHaveLength(0)
		} finally {
			silent.closeAllConnections()
			await Promise.all([silent, redirecting].map((server) => new Promise((resolve) => server.close(resolve))))
			await target.close()
		}
	})

	test('the answer is read up to a cap: an endless body does not hold the attempt', async () => {
		let hungUp: () => void = () => {}
		const clientLeft = new Promise<void>((resolve) => (hungUp = resolve))
		const endless = http.createServer((_req, res) => {
			res.writeHead(200, { 'Content-Type': 'text/plain' })
			const chunk = Buffer.alloc(64 * 1024, 'x')
			const pump = () => {
				while (!res.destroyed && res.write(chunk));
				if (!res.destroyed) res.once('drain', pump)
			}
			res.on('close', hungUp)
			pump()
		})
		await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve))
		try {
			const { user } = await setup(`http://127.0.0.1:${(endless.address() as AddressInfo).port}/hook`)
			const { deliveryId } = await emit(user.id)
			// A deadline far beyond the test's own timeout: only the cap can end this attempt.
			expect(await runJob(deliveryId, { timeoutMs: 600_000 })).toBe('delivered')
			await clientLeft
		} finally {
			endless.closeAllConnections()
			await new Promise((resolve) => endless.close(resolve))
		}
	})

	test('a real pg-boss worker retries a failing receiver (test delays of 1 s) until it is delivered', async () => {
		const { user } = await setup()
		const worker = await startWorker({ queues: ['webhook-deliver'] })
		try {
			// Jobs take their retry options from the queue when inserted: shorten them for this database.
			await worker.boss.updateQueue('webhook-deliver', { retryDelay: 1, retryBackoff: true, retryDelayMax: 1 })
			receiver.answer(500, 502)
			const { eventId, deliveryId } = await emit(user.id)
			await until(
				'the delivery',
				() => deliveryOf(deliveryId),
				(d) => d.status === 'succeeded',
			)
			expect((await attemptsOf(deliveryId)).map((a) => a.statusCode)).toEqual([500, 502, 204])
			expect(requestsFor(eventId)).toHaveLength(3)
		} finally {
			await worker.stop(5_000)
		}
	})
})

describe('failure policy', () => {
	test(`${5} deliveries in a row exhausting their ${MAX_AUTO_ATTEMPTS} attempts → endpoint disabled, one French email, audited`, async () => {
		const failing = await startWebhookReceiver()
		failing.answer(...Array<number>(200).fill(500))
		const { user, endpointId } = await setup(failing.url)
		let waiting: string | undefined
		for (let n = 1; n <= 5; n++) {
			const { deliveryId } = await emit(user.id, n)
			// Queued while the endpoint still works; its job runs after the endpoint is disabled.
			if (n === 5) waiting = (await emit(user.id, 99)).deliveryId
			for (let attempt = 1; attempt < MAX_AUTO_ATTEMPTS; attempt++) expect(await runJob(deliveryId)).toBe('retry')
			expect(await runJob(deliveryId)).toBe('failed')
			expect(await deliveryOf(deliveryId)).toMatchObject({ status: 'failed', attempts: MAX_AUTO_ATTEMPTS })
			const endpoint = await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } })
			expect(endpoint.consecutiveFailures).toBe(n)
			expect(Boolean(endpoint.disabledAt)).toBe(n === 5)
		}
		expect(failing.received).toHaveLength(5 * MAX_AUTO_ATTEMPTS)
		const endpoint = await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } })
		expect(endpoint.disabledReason).toBe('consecutive_failures')

		const mails = await queuedEmailsTo(user.email)
		expect(mails).toHaveLength(1)
		expect(mails[0]!.subject).toBe(`Webhook désactivé : 127.0.0.1:${failing.port}`)
		expect(mails[0]!.text).toContain('nous avons désactivé ce webhook')
		expect(mails[0]!.text).toContain(`/settings/webhooks/${endpointId}`)
		const audits = await privileged().auditEvent.findMany({ where: { userId: user.id, type: 'webhook_endpoint.disabled' } })
		expect(audits).toHaveLength(1)
		expect(audits[0]!.data).toMatchObject({ endpointId, reason: 'consecutive_failures' })

		// The delivery queued before: its job stops without calling; new events are not even written.
		expect(await runJob(waiting!)).toBe('failed')
		expect(await attemptsOf(waiting!)).toEqual([])
		expect(failing.received).toHaveLength(5 * MAX_AUTO_ATTEMPTS)
		expect(await privileged().$transaction((tx) => emitUserEvent(tx, user.id, 'credits.low', { balance: 1, threshold: 5 }))).toBeNull()
		await failing.close()
	})

	test('an endpoint without a single 2xx for 24 h is disabled at its next failure (once)', async () => {
		const failing = await startWebhookReceiver()
		failing.answer(500, 500)
		const { user, endpointId } = await setup(failing.url)
		const first = await emit(user.id)
		expect(await runJob(first.deliveryId)).toBe('retry')
		// A day later (no waiting: the failure streak is dated back).
		await privileged().webhookEndpoint.update({ where: { id: endpointId }, data: { failingSince: new Date(Date.now() - 25 * 3_600_000) } })
		expect(await runJob(first.deliveryId)).toBe('failed')
		const endpoint = await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } })
		expect(endpoint).toMatchObject({ disabledReason: 'failing_too_long', consecutiveFailures: 0 })
		expect(endpoint.disabledAt).not.toBeNull()
		expect(await queuedEmailsTo(user.email)).toHaveLength(1)
		expect((await queuedEmailsTo(user.email))[0]!.text).toContain('depuis 25 h')
		await failing.close()
	})

	test('a 2xx resets the streak', async () => {
		const { user, endpointId } = await setup()
		receiver.answer(500)
		const { deliveryId } = await emit(user.id)
		expect(await runJob(deliveryId)).toBe('retry')
		expect((await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } })).failingSince).not.toBeNull()
		expect(await runJob(deliveryId)).toBe('delivered')
		expect(await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } })).toMatchObject({
			failingSince: null,
			consecutiveFailures: 0,
			disabledAt: null,
		})
	})
})

describe('resend', () => {
	test('« Renvoyer » queues one manual attempt of the same event (same id, same body); never someone else’s', async () => {
		const { user, endpointId, secret } = await setup()
		const other = await createTestUser()
		const { eventId, deliveryId } = await emit(user.id)
		expect(await runJob(deliveryId)).toBe('delivered')

		expect(await resendDelivery(other.id, endpointId, deliveryId)).toBe(false)
		expect(await resendDelivery(user.id, endpointId, deliveryId)).toBe(true)
		const jobs = await privileged().$queryRaw<{ data: { deliveryId: string; manual?: boolean } }[]>`
			SELECT data FROM pgboss.job WHERE name = 'webhook-deliver' AND data->>'deliveryId' = ${deliveryId} AND data->>'manual' = 'true'`
		expect(jobs).toHaveLength(1)
		// The worker's handler runs the queued job.
		await handlers['webhook-deliver'](queues['webhook-deliver'].payload.parse(jobs[0]!.data))

		const requests = requestsFor(eventId)
		expect(requests).toHaveLength(2)
		expect(requests[1]!.rawBody.equals(requests[0]!.rawBody)).toBe(true)
		expect(verify(requests[1]!.rawBody, requests[1]!.headers, secret)).toBe(true)
		expect((await attemptsOf(deliveryId)).map((a) => a.trigger)).toEqual(['auto', 'manual'])

		// A manual attempt that fails is logged, never retried, and leaves the delivery's state alone.
		receiver.answer(500)
		expect(await runJob(deliveryId, { manual: true })).toBe('failed')
		expect(await deliveryOf(deliveryId)).toMatchObject({ status: 'succeeded', attempts: 3 })
	})
})

describe('retry schedule', () => {
	test('spans a bit more than 24 h, and the receiver guide shows this very schedule', () => {
		const schedule = retrySchedule()
		expect(schedule).toHaveLength(MAX_AUTO_ATTEMPTS)
		const last = schedule.at(-1)!
		expect(last.minSeconds).toBeGreaterThanOrEqual(24 * 3600)
		expect(last.maxSeconds).toBeLessThanOrEqual(30 * 3600)
		expect(schedule[1]).toMatchObject({ minSeconds: 60, maxSeconds: 120 })
		// pg-boss keeps spare retries beyond our last attempt (a worker killed mid-attempt).
		expect(queues['webhook-deliver'].options.retryLimit).toBeGreaterThan(MAX_AUTO_ATTEMPTS - 1)

		const format = (s: number) => {
			if (s === 0) return 'immédiat'
			const h = Math.floor(s / 3600)
			const m = Math.floor((s % 3600) / 60)
			return h ? `${h} h ${String(m).padStart(2, '0')}` : `${m} min`
		}
		const guide = fs.readFileSync(path.join(import.meta.dirname, 'README.fr.md'), 'utf8')
		const rows = [...guide.matchAll(/^\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|$/gm)].map((m) => [Number(m[1]), m[2], m[3]])
		expect(rows).toEqual(schedule.map((row) => [row.attempt, format(row.minSeconds), format(row.maxSeconds)]))
	})
})

describe('retention', () => {
	test(`events older than ${WEBHOOK_LOG_RETENTION_DAYS} days go, with their deliveries and attempts; recent ones stay`, async () => {
		const { user } = await setup()
		const old = await emit(user.id)
		const recent = await emit(user.id)
		expect(await runJob(old.deliveryId)).toBe('delivered')
		expect(await runJob(recent.deliveryId)).toBe('delivered')
		await privileged().outgoingEvent.update({
			where: { id: old.eventId },
			data: { createdAt: new Date(Date.now() - (WEBHOOK_LOG_RETENTION_DAYS + 1) * 86_400_000) },
		})
		await purgeWebhookLog()
		expect(await privileged().outgoingEvent.findMany({ where: { userId: user.id }, select: { id: true } })).toEqual([
			{ id: recent.eventId },
		])
		expect(await privileged().webhookDelivery.count({ where: { id: old.deliveryId } })).toBe(0)
		expect(await privileged().webhookAttempt.count({ where: { deliveryId: old.deliveryId } })).toBe(0)
		expect(await privileged().webhookAttempt.count({ where: { deliveryId: recent.deliveryId } })).toBe(1)
	})
})
