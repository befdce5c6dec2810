import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { orderSchema, type Order } from '#app/modules/transformations/catalog.ts'
import { orderTransformations } from '#app/modules/transformations/order.server.ts'
import { cancelTransformation } from '#app/modules/transformations/run.server.ts'
import { loader as filesLoader } from '#app/routes/resources+/files.$.tsx'
import { action as replicateWebhook } from '#app/routes/webhooks+/replicate.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { startReplicateFake, type ReplicateFake } from '#tests/fakes/replicate.ts'
import { documentedVerifier, startWebhookReceiver, type DocumentedVerifier, type WebhookReceiver } from '#tests/fakes/webhook-receiver.ts'
import { startAppServer } from '#tests/utils/app-server.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { readyPhoto } from '#tests/utils/photos.ts'
import { until } from '#tests/utils/until.ts'
import { startWorker } from '#worker/start.ts'
import { createEndpoint } from './endpoints.server.ts'
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './events.ts'

// Events from the real flow: an order through orderTransformations, run by the worker code
// against the Replicate fake (over HTTP), delivered by the webhook-deliver job to a receiver on
// 127.0.0.1 that checks each signature with the receiver guide's own snippet.

let fake: ReplicateFake
let app: Awaited<ReturnType<typeof startAppServer>>
let worker: Awaited<ReturnType<typeof startWorker>>
let verify: DocumentedVerifier
const receivers: WebhookReceiver[] = []

beforeAll(async () => {
	fake = await startReplicateFake()
	app = await startAppServer([
		{ method: 'POST', pattern: /^\/webhooks\/replicate$/, handler: replicateWebhook },
		{ method: 'GET', pattern: /^\/resources\/files\//, handler: filesLoader },
	])
	Object.assign(process.env, {
		APP_URL: app.url,
		REPLICATE_API_TOKEN: fake.token,
		REPLICATE_BASE_URL: fake.baseUrl,
		REPLICATE_WEBHOOK_SECRET: fake.webhookSecret,
		WEBHOOKS_ALLOW_LOOPBACK: 'true',
		CREDITS_LOW_THRESHOLD: '5',
	})
	reloadEnv()
	verify = await documentedVerifier()
	worker = await startWorker({ queues: ['transformation-run', 'transformation-local', 'transformation-complete', 'webhook-deliver'] })
})

afterAll(async () => {
	await worker?.stop(5_000)
	await fake?.close()
	await app?.close()
	for (const receiver of receivers) await receiver.close()
})

async function agent(credits: number, events: WebhookEventType[] = [...WEBHOOK_EVENT_TYPES]) {
	const user = await loggedInUser()
	const project = await privileged().project.create({ data: { userId: user.id, name: 'Maison Annecy' }, select: { id: true } })
	const balance = (await privileged().user.findUniqueOrThrow({ where: { id: user.id } })).creditBalance
	if (credits !== balance)
		await grant(privileged(), {
			userId: user.id,
			credits: credits - balance,
			reason: 'admin_adjustment',
			idempotencyKey: `test:${user.id}`,
		})
	const receiver = await startWebhookReceiver()
	receivers.push(receiver)
	const { secret } = await createEndpoint(user.id, { url: receiver.url, description: null, events })
	return { user, projectId: project.id, receiver, secret }
}

const order = (input: Partial<Order> & { photoIds: string[] }) =>
	orderSchema.parse({ kind: 'virtual_staging', style: 'scandinavian', ...input })

type Event = { id: string; type: string; created_at: string; data: Record<string, unknown> }
/** What the receiver got, each checked with the documented verifier first. */
function events(receiver: WebhookReceiver, secret: string): Event[] {
	return receiver.received.map((request) => {
		expect(verify(request.rawBody, request.headers, secret)).toBe(true)
		const event = JSON.parse(request.rawBody.toString()) as Event
		expect(request.headers['renzo-webhook-id']).toBe(event.id)
		return event
	})
}

describe('events of the real flow', () => {
	test('an order run to the end → transformation.succeeded, transformation.failed, batch.completed, once each; B hears nothing', async () => {
		const a = await agent(20)
		const b = await agent(20)
		const photoIds = [await readyPhoto(a.user.id, a.projectId), await readyPhoto(a.user.id, a.projectId)]
		fake.next('success', 'failed')
		const { ids, batchId } = await orderTransformations(a.user.id, a.projectId, order({ photoIds }))

		const received = await until(
			'three events',
			async () => events(a.receiver, a.secret),
			(list) => list.length >= 3,
		)
		const byType = Object.fromEntries(received.map((event) => [event.type, event]))
		expect(Object.keys(byType).sort()).toEqual(['batch.completed', 'transformation.failed', 'transformation.succeeded'])

		const succeeded = byType['transformation.succeeded']!
		expect(ids).toContain(succeeded.data.transformation_id)
		expect(succeeded.data).toMatchObject({
			project_id: a.projectId,
			batch_id: batchId,
			kind: 'virtual_staging',
			quality: 'standard',
			status: 'succeeded',
			error_code: null,
			credits_charged: 2,
			url: `${app.url}/api/v1/transformations/${String(succeeded.data.transformation_id)}`,
		})
		expect(byType['transformation.failed']!.data).toMatchObject({
			status: 'failed',
			error_code: 'content_refused',
			batch_id: batchId,
			credits_charged: 0,
		})
		expect(byType['batch.completed']!.data).toMatchObject({
			batch_id: batchId,
			project_id: a.projectId,
			total: 2,
			succeeded: 1,
			failed: 1,
			canceled: 0,
		})
		expect((byType['batch.completed']!.data.transformation_ids as string[]).sort()).toEqual([...ids].sort())

		// No secret, no signed or storage URL in any payload: ids and the API path only.
		for (const request of a.receiver.received) {
			const body = request.rawBody.toString()
			expect(body).not.toContain(a.secret)
			expect(body).not.toMatch(/\/resources\/files\/|X-Amz-|[?&](sig|signature|expires|token)=|transformed\//i)
		}
		// Once each, even with the worker's retries and the provider's duplicate webhooks.
		expect(await privileged().outgoingEvent.count({ where: { userId: a.user.id } })).toBe(3)
		expect(b.receiver.received).toHaveLength(0)
		expect(await privileged().outgoingEvent.count({ where: { userId: b.user.id } })).toBe(0)
	})

	test('cancelling the last running transformation completes the batch', async () => {
		const a = await agent(20, ['batch.completed'])
		fake.next('slow')
		const { ids, batchId } = await orderTransformations(
			a.user.id,
			a.projectId,
			order({ photoIds: [await readyPhoto(a.user.id, a.projectId)] }),
		)
		await until(
			'the prediction',
			() => privileged().transformation.findUniqueOrThrow({ where: { id: ids[0]! }, select: { predictionId: true } }),
			(t) => t.predictionId !== null,
		)
		expect(await cancelTransformation(a.user.id, ids[0]!)).toBe(true)
		const [event] = await until(
			'batch.completed',
			async () => events(a.receiver, a.secret),
			(list) => list.length >= 1,
		)
		expect(event).toMatchObject({ type: 'batch.completed', data: { batch_id: batchId, total: 1, succeeded: 0, failed: 0, canceled: 1 } })
	})

	test('credits.low when an order takes the balance below the threshold: once per crossing', async () => {
		const a = await agent(7, ['credits.low'])
		fake.behave('success')
		const dusk = async (count: number) => {
			const photoIds = []
			for (let i = 0; i < count; i++) photoIds.push(await readyPhoto(a.user.id, a.projectId))
			await orderTransformations(a.user.id, a.projectId, order({ kind: 'day_to_dusk', photoIds }))
		}
		const lows = () => privileged().outgoingEvent.findMany({ where: { userId: a.user.id, type: 'credits.low' }, select: { id: true } })
		await dusk(1) // 7 → 6
		await dusk(1) // 6 → 5: not below 5
		expect(await lows()).toHaveLength(0)
		await dusk(1) // 5 → 4: crossed
		await dusk(1) // 4 → 3: still below, no new event
		expect(await lows()).toHaveLength(1)
		await grant(privileged(), { userId: a.user.id, credits: 5, reason: 'admin_adjustment', idempotencyKey: `test-more:${a.user.id}` })
		await dusk(4) // 8 → 4: crossed again
		expect(await lows()).toHaveLength(2)

		const received = await until(
			'two credits.low',
			async () => events(a.receiver, a.secret),
			(list) => list.length >= 2,
		)
		expect(received.map((event) => [event.type, event.data.balance, event.data.threshold])).toEqual([
			['credits.low', 4, 5],
			['credits.low', 4, 5],
		])
		expect(received[0]!.data.url).toBe(`${app.url}/api/v1/credits`)
	})
})
