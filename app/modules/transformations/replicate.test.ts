import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Replicate from 'replicate'
import sharp from 'sharp'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { isLoopbackUrl, NSFW_ERROR, signWebhook, startReplicateFake, type ReplicateFake } from '#tests/fakes/replicate.ts'
import { createReplicateClient, downloadOutput, ProviderError, verifyReplicateWebhook } from './replicate.server.ts'

type Delivery = { headers: Headers; rawBody: string }

/** Stands in for the app: serves the input photo (the "signed URL") and receives webhooks. */
async function startApp(photo: Buffer) {
	const deliveries: Delivery[] = []
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = []
		req.on('data', (chunk: Buffer) => chunks.push(chunk))
		req.on('end', () => {
			if (req.method === 'GET' && req.url === '/photo.jpg') {
				res.writeHead(200, { 'content-type': 'image/jpeg' })
				return res.end(photo)
			}
			if (req.method === 'POST' && req.url === '/webhook') {
				const headers = new Headers()
				for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
				deliveries.push({ headers, rawBody: Buffer.concat(chunks).toString('utf8') })
				res.writeHead(204)
				return res.end()
			}
			res.writeHead(404)
			res.end()
		})
	})
	let connections = 0
	server.on('connection', () => connections++)
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
	return {
		photoUrl: `${origin}/photo.jpg`,
		webhookUrl: `${origin}/webhook`,
		deliveries,
		/** TCP connections accepted so far. */
		connections: () => connections,
		close: () => {
			server.closeAllConnections()
			return new Promise<void>((resolve) => server.close(() => resolve()))
		},
	}
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort() {
	const server = http.createServer()
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const { port } = server.address() as AddressInfo
	await new Promise<void>((resolve) => server.close(() => resolve()))
	return port
}

async function rejection(promise: Promise<unknown>) {
	try {
		await promise
	} catch (error) {
		return error
	}
	throw new Error('expected a rejection')
}

async function providerError(promise: Promise<unknown>) {
	const error = await rejection(promise)
	expect(error).toBeInstanceOf(ProviderError)
	return error as ProviderError
}

async function meanBrightness(image: Buffer) {
	const { channels } = await sharp(image).removeAlpha().stats()
	return channels.reduce((sum, channel) => sum + channel.mean, 0) / channels.length
}

const VERSION = 'a'.repeat(64)
const MODEL = `acme/stager:${VERSION}`
const MB = 1024 * 1024

let fake: ReplicateFake
let app: Awaited<ReturnType<typeof startApp>>
let photo: Buffer
let client: ReturnType<typeof createReplicateClient>

beforeAll(async () => {
	photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 100, b: 110 } } })
		.jpeg()
		.toBuffer()
	app = await startApp(photo)
	fake = await startReplicateFake()
	client = createReplicateClient({ apiToken: fake.token, baseUrl: fake.baseUrl })
})

afterAll(async () => {
	await fake.close()
	await app.close()
})

afterEach(async () => {
	await fake.settled()
	// Refused webhooks, unreachable receivers, crashes inside the fake: none expected here.
	expect(fake.errors).toEqual([])
})

beforeEach(async () => {
	await fake.settled()
	fake.reset()
	fake.requests.length = 0
	app.deliveries.length = 0
})

/** Creates a prediction through the adapter and lets the fake finish what it can. */
async function run(options: { webhook?: boolean; model?: string } = {}) {
	const created = await client.create({
		model: options.model ?? MODEL,
		input: { image: app.photoUrl, prompt: 'stage it' },
		webhookUrl: options.webhook === false ? null : app.webhookUrl,
	})
	await fake.settled()
	return created
}

describe('predictions', () => {
	test('create sends version, input and a completed-only webhook; get returns the real output', async () => {
		const created = await run()
		expect(created).toEqual({ id: expect.stringMatching(/^[a-z2-7]{26}$/), status: 'starting', outputUrl: null, error: null })
		const [request] = fake.requests.filter((r) => r.method === 'POST')
		expect(request?.path).toBe('/v1/predictions')
		expect(request?.headers.authorization).toBe(`Bearer ${fake.token}`)
		expect(request?.headers.prefer).toBeUndefined()
		expect(request?.body).toEqual({
			version: VERSION,
			input: { image: app.photoUrl, prompt: 'stage it' },
			webhook: app.webhookUrl,
			webhook_events_filter: ['completed'],
		})

		const done = await client.get(created.id)
		expect(done).toEqual({ id: created.id, status: 'succeeded', outputUrl: `${fake.origin}/files/${created.id}.png`, error: null })
		const output = await downloadOutput(done.outputUrl!, { maxBytes: 10 * MB, timeoutMs: 5000 })
		const metadata = await sharp(output).metadata()
		expect(metadata).toMatchObject({ format: 'png', width: 64, height: 48 })
		expect(await meanBrightness(output)).toBeGreaterThan((await meanBrightness(photo)) + 5)
	})

	test('an official model goes to /models/{owner}/{name}/predictions without version; no webhook when none is given', async () => {
		const created = await run({ model: 'black-forest-labs/flux-kontext-pro', webhook: false })
		const [request] = fake.requests.filter((r) => r.method === 'POST')
		expect(request?.path).toBe('/v1/models/black-forest-labs/flux-kontext-pro/predictions')
		expect(request?.body).toEqual({ input: { image: app.photoUrl, prompt: 'stage it' } })
		expect((await client.get(created.id)).status).toBe('succeeded')
		expect(fake.webhooksSent).not.toContainEqual(expect.objectContaining({ predictionId: created.id }))
	})

	test('an array output gives its URL', async () => {
		fake.outputShape = 'array'
		fake.outputFormat = 'webp'
		const created = await run()
		expect(fake.predictions.get(created.id)?.output).toEqual([`${fake.origin}/files/${created.id}.webp`])
		const { outputUrl } = await client.get(created.id)
		expect(outputUrl).toBe(`${fake.origin}/files/${created.id}.webp`)
		const output = await downloadOutput(outputUrl!, { maxBytes: 10 * MB, timeoutMs: 5000 })
		expect((await sharp(output).metadata()).format).toBe('webp')
	})

	test('a slow prediction stays processing until completed', async () => {
		fake.next('slow')
		const created = await run()
		expect(await client.get(created.id)).toMatchObject({ status: 'processing', outputUrl: null })
		await fake.complete(created.id)
		expect(await client.get(created.id)).toMatchObject({ status: 'succeeded', outputUrl: expect.any(String) })
	})

	test('cancel ends a running prediction, which still sends its completed webhook', async () => {
		fake.next({ kind: 'slow', delayMs: 60_000 })
		const created = await run()
		expect(await client.cancel(created.id)).toEqual({ id: created.id, status: 'canceled', outputUrl: null, error: null })
		await fake.settled()
		expect(await client.get(created.id)).toMatchObject({ status: 'canceled' })
		expect(app.deliveries).toHaveLength(1)
		const verified = verifyReplicateWebhook({ ...app.deliveries[0]!, secret: fake.webhookSecret })
		expect(verified).toMatchObject({ ok: true, prediction: { status: 'canceled' } })
	})

	test('a failed prediction carries its error', async () => {
		fake.next('failed')
		const created = await run()
		expect(await client.get(created.id)).toEqual({ id: created.id, status: 'failed', outputUrl: null, error: NSFW_ERROR })
	})

	test('an input the model cannot fetch fails the prediction', async () => {
		const created = await client.create({
			model: MODEL,
			input: { image: `http://127.0.0.1:${await closedPort()}/gone.jpg` },
			webhookUrl: null,
		})
		await fake.settled()
		expect(await client.get(created.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('Failed to load input image') })
	})
})

describe('errors', () => {
	test('a 500 on create is one request and a transient error; the next create works', async () => {
		fake.next('http-500-then-success')
		const error = await providerError(run())
		expect(error).toMatchObject({ code: 'unavailable', transient: true })
		expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
		expect((await run()).status).toBe('starting')
	})

	test('a 429 on create is one request, transient, with Retry-After; the next create works', async () => {
		fake.next({ kind: 'http-429-then-success', retryAfterSeconds: 7 })
		const error = await providerError(run())
		expect(error).toMatchObject({ code: 'rate_limited', transient: true, retryAfterSeconds: 7 })
		expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
		expect((await run()).status).toBe('starting')
	})

	test('why: the SDK alone retries a 429 at once, without backoff or Retry-After', async () => {
		fake.next({ kind: 'http-429-then-success', times: 2, retryAfterSeconds: 30 })
		const sdk = new Replicate({ auth: fake.token, baseUrl: fake.baseUrl })
		const started = Date.now()
		await sdk.predictions.create({ version: VERSION, input: { image: app.photoUrl } })
		expect(Date.now() - started).toBeLessThan(450)
		expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(3)
	})

	test('a wrong token is an auth error, not transient', async () => {
		const wrong = createReplicateClient({ apiToken: 'r8_wrong', baseUrl: fake.baseUrl })
		const before = fake.predictions.size
		const error = await providerError(wrong.create({ model: MODEL, input: { image: app.photoUrl }, webhookUrl: null }))
		expect(error).toMatchObject({ code: 'auth', transient: false })
		expect(error.message).toContain('valid authentication token')
		expect(fake.predictions.size).toBe(before)
	})

	test('an unknown prediction is not_found; invalid input is rejected', async () => {
		expect(await providerError(client.get('nosuchprediction'))).toMatchObject({ code: 'not_found', transient: false })
		const rejected = await providerError(client.create({ model: MODEL, input: { prompt: 'no image' }, webhookUrl: null }))
		expect(rejected).toMatchObject({ code: 'rejected', transient: false })
		expect(rejected.message).toContain('image is required')
		expect(await providerError(client.create({ model: 'not-a-model', input: {}, webhookUrl: null }))).toMatchObject({ code: 'rejected' })
	})

	test('a refused connection is transient', async () => {
		const down = createReplicateClient({ apiToken: fake.token, baseUrl: `http://127.0.0.1:${await closedPort()}/v1` })
		expect(await providerError(down.get('abc'))).toMatchObject({ code: 'unavailable', transient: true })
	})

	test('a slow API is a transient timeout after one request', async () => {
		fake.apiLatencyMs = 400
		const impatient = createReplicateClient({ apiToken: fake.token, baseUrl: fake.baseUrl, timeoutMs: 100 })
		const error = await providerError(impatient.create({ model: MODEL, input: { image: app.photoUrl }, webhookUrl: null }))
		expect(error).toMatchObject({ code: 'timeout', transient: true })
		expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
	})
})

describe('downloadOutput', () => {
	test('an expired output (404) is output_missing', async () => {
		fake.next('output-404')
		const { outputUrl } = await client.get((await run()).id)
		const error = await providerError(downloadOutput(outputUrl!, { maxBytes: MB, timeoutMs: 5000 }))
		expect(error).toMatchObject({ code: 'output_missing', transient: false })
	})

	test.each(['text', 'bytes'] as const)('an output that is not an image (%s) is output_not_image', async (as) => {
		fake.next({ kind: 'output-not-image', as })
		const { outputUrl } = await client.get((await run()).id)
		const error = await providerError(downloadOutput(outputUrl!, { maxBytes: MB, timeoutMs: 5000 }))
		expect(error).toMatchObject({ code: 'output_not_image', transient: false })
	})

	test('an output over maxBytes is output_too_large', async () => {
		const { outputUrl } = await client.get((await run()).id)
		const error = await providerError(downloadOutput(outputUrl!, { maxBytes: 100, timeoutMs: 5000 }))
		expect(error).toMatchObject({ code: 'output_too_large', transient: false })
	})

	test('an endless output is cut at maxBytes, without reading on', async () => {
		fake.next('output-huge')
		const { id, outputUrl } = await client.get((await run()).id)
		const error = await providerError(downloadOutput(outputUrl!, { maxBytes: MB, timeoutMs: 10_000 }))
		expect(error).toMatchObject({ code: 'output_too_large' })
		await new Promise((resolve) => setTimeout(resolve, 200))
		const served = fake.fileBytesServed.get(id) ?? 0
		expect(served).toBeGreaterThan(MB)
		// What the sockets buffered after we hung up, nowhere near the 256 MiB on offer.
		expect(served).toBeLessThan(32 * MB)
	})

	test('an output that stalls is a transient timeout', async () => {
		fake.next('output-stall')
		const { outputUrl } = await client.get((await run()).id)
		const started = Date.now()
		const error = await providerError(downloadOutput(outputUrl!, { maxBytes: MB, timeoutMs: 300 }))
		expect(error).toMatchObject({ code: 'timeout', transient: true })
		expect(Date.now() - started).toBeLessThan(3000)
	})

	test('only http(s) URLs', async () => {
		expect(await providerError(downloadOutput('file:///etc/passwd', { maxBytes: MB, timeoutMs: 1000 }))).toMatchObject({
			code: 'output_missing',
		})
	})
})

test('the fake opens a connection per input fetch and per webhook; with keepAlive (benches) it reuses them', async () => {
	for (const keepAlive of [false, true]) {
		const own = await startReplicateFake({ keepAlive })
		const ownClient = createReplicateClient({ apiToken: own.token, baseUrl: own.baseUrl })
		const before = app.connections()
		const deliveries = app.deliveries.length
		try {
			for (let i = 0; i < 3; i++) {
				await ownClient.create({ model: MODEL, input: { image: app.photoUrl, prompt: 'stage it' }, webhookUrl: app.webhookUrl })
				await own.settled()
			}
		} finally {
			await own.close()
		}
		expect(app.deliveries.length - deliveries).toBe(3)
		// 3 input fetches and 3 webhooks: 6 connections, or the one kept.
		expect(app.connections() - before).toBe(keepAlive ? 1 : 6)
	}
})

describe('webhooks', () => {
	test('a delivered webhook verifies and carries the prediction', async () => {
		const created = await run()
		expect(app.deliveries).toHaveLength(1) // completed only: no 'start' event
		const delivery = app.deliveries[0]!
		const verified = verifyReplicateWebhook({ ...delivery, secret: fake.webhookSecret })
		expect(verified).toEqual({
			ok: true,
			webhookId: delivery.headers.get('webhook-id'),
			prediction: { id: created.id, status: 'succeeded', outputUrl: `${fake.origin}/files/${created.id}.png`, error: null },
		})
		expect(verified.ok && verified.webhookId).toMatch(/^msg_/)
	})

	test('the secret is the configured one, else fetched once from the API', async () => {
		expect(
			await createReplicateClient({ apiToken: fake.token, baseUrl: fake.baseUrl, webhookSecret: 'whsec_configured' }).webhookSecret(),
		).toBe('whsec_configured')
		expect(fake.requests).toHaveLength(0)
		const fresh = createReplicateClient({ apiToken: fake.token, baseUrl: fake.baseUrl })
		expect(await fresh.webhookSecret()).toBe(fake.webhookSecret)
		expect(await fresh.webhookSecret()).toBe(fake.webhookSecret)
		expect(fake.requests.filter((r) => r.path === '/v1/webhooks/default/secret')).toHaveLength(1)
	})

	test('a bad signature is refused', async () => {
		fake.next('bad-signature')
		await run()
		expect(verifyReplicateWebhook({ ...app.deliveries[0]!, secret: fake.webhookSecret })).toEqual({ ok: false, reason: 'signature' })
	})

	test('a tampered body is refused; any one valid entry of several signatures is enough', async () => {
		await run()
		const { headers, rawBody } = app.deliveries[0]!
		const secret = fake.webhookSecret
		expect(verifyReplicateWebhook({ headers, rawBody: rawBody.replace('succeeded', 'failed'), secret })).toEqual({
			ok: false,
			reason: 'signature',
		})
		const several = new Headers(headers)
		several.set('webhook-signature', `v1,${Buffer.alloc(32).toString('base64')} v1a,xyz ${headers.get('webhook-signature')}`)
		expect(verifyReplicateWebhook({ headers: several, rawBody, secret })).toMatchObject({ ok: true })
	})

	test.each([
		['6 minutes old', -6 * 60_000],
		['6 minutes in the future', 6 * 60_000],
	])('a timestamp %s is refused', async (_label, offset) => {
		fake.webhookClockOffsetMs = offset
		await run()
		expect(verifyReplicateWebhook({ ...app.deliveries[0]!, secret: fake.webhookSecret })).toEqual({ ok: false, reason: 'timestamp' })
	})

	test('the tolerance is 300 s by default, both ways', async () => {
		await run()
		const delivery = { ...app.deliveries[0]!, secret: fake.webhookSecret }
		const sent = Number(delivery.headers.get('webhook-timestamp')) * 1000
		expect(verifyReplicateWebhook({ ...delivery, now: sent + 299_000 })).toMatchObject({ ok: true })
		expect(verifyReplicateWebhook({ ...delivery, now: sent + 301_000 })).toEqual({ ok: false, reason: 'timestamp' })
		expect(verifyReplicateWebhook({ ...delivery, now: sent - 301_000 })).toEqual({ ok: false, reason: 'timestamp' })
		expect(verifyReplicateWebhook({ ...delivery, now: sent + 301_000, toleranceSeconds: 600 })).toMatchObject({ ok: true })
	})

	test('a signed body is parsed (last output URL, only once succeeded; aborted is failed); malformed: a missing header, a bad timestamp, a body that is not a prediction', async () => {
		const secret = fake.webhookSecret
		const timestamp = Math.floor(Date.now() / 1000)
		const signed = (body: string, id = 'msg_1', ts = String(timestamp)) =>
			new Headers({
				'webhook-id': id,
				'webhook-timestamp': ts,
				'webhook-signature': signWebhook({ id, timestamp: Number(ts), body, secret }),
			})
		const prediction = JSON.stringify({ id: 'p1', status: 'succeeded', output: 'https://replicate.delivery/x.png' })
		expect(verifyReplicateWebhook({ headers: signed(prediction), rawBody: prediction, secret })).toMatchObject({
			ok: true,
			prediction: { outputUrl: 'https://replicate.delivery/x.png' },
		})
		const several = JSON.stringify({
			id: 'p2',
			status: 'succeeded',
			output: ['https://replicate.delivery/1.png', 'https://replicate.delivery/2.png'],
		})
		expect(verifyReplicateWebhook({ headers: signed(several), rawBody: several, secret })).toMatchObject({
			prediction: { outputUrl: 'https://replicate.delivery/2.png' },
		})

		const running = JSON.stringify({ id: 'p4', status: 'processing', output: ['https://replicate.delivery/partial.png'] })
		expect(verifyReplicateWebhook({ headers: signed(running), rawBody: running, secret })).toMatchObject({
			prediction: { status: 'processing', outputUrl: null },
		})
		const aborted = JSON.stringify({ id: 'p3', status: 'aborted', output: null, error: null })
		expect(verifyReplicateWebhook({ headers: signed(aborted), rawBody: aborted, secret })).toMatchObject({
			prediction: { status: 'failed', outputUrl: null, error: expect.stringContaining('aborted') },
		})

		const noId = signed(prediction)
		noId.delete('webhook-id')
		expect(verifyReplicateWebhook({ headers: noId, rawBody: prediction, secret })).toEqual({ ok: false, reason: 'malformed' })
		const badTimestamp = signed(prediction)
		badTimestamp.set('webhook-timestamp', '12e3')
		expect(verifyReplicateWebhook({ headers: badTimestamp, rawBody: prediction, secret })).toEqual({ ok: false, reason: 'malformed' })
		for (const body of ['not json', '{"id":"p1","status":"exploded"}', '[]'])
			expect(verifyReplicateWebhook({ headers: signed(body), rawBody: body, secret })).toEqual({ ok: false, reason: 'malformed' })
	})

	test('webhook-twice delivers the same webhook-id twice (dedupe on it)', async () => {
		fake.next('webhook-twice')
		await run()
		expect(app.deliveries).toHaveLength(2)
		const [first, second] = app.deliveries.map((delivery) => verifyReplicateWebhook({ ...delivery, secret: fake.webhookSecret }))
		expect(first).toMatchObject({ ok: true })
		expect(second).toMatchObject({ ok: true })
		expect(first!.ok && second!.ok && first!.webhookId === second!.webhookId).toBe(true)
	})

	test('no-webhook completes silently; deliverWebhook sends it on demand', async () => {
		fake.next('no-webhook')
		const created = await run()
		expect((await client.get(created.id)).status).toBe('succeeded')
		expect(app.deliveries).toHaveLength(0)
		const delivery = await fake.deliverWebhook(created.id)
		expect(delivery).toMatchObject({ status: 204, error: null })
		expect(verifyReplicateWebhook({ ...app.deliveries[0]!, secret: fake.webhookSecret })).toMatchObject({
			ok: true,
			prediction: { id: created.id },
		})
	})

	test('without a filter, the fake sends start and completed (Replicate’s default)', async () => {
		const sdk = new Replicate({ auth: fake.token, baseUrl: fake.baseUrl })
		await sdk.predictions.create({ version: VERSION, input: { image: app.photoUrl }, webhook: app.webhookUrl })
		await fake.settled()
		expect(app.deliveries.map((d) => (JSON.parse(d.rawBody) as { status: string }).status)).toEqual(['processing', 'succeeded'])
	})
})

describe("the fake's loopback guard (decision only, nothing is connected)", () => {
	test.each([
		['http://127.0.0.1:3000/webhook', true],
		['https://127.0.0.1/x', true],
		['http://localhost:3000/x', true],
		['http://[::1]:3000/x', true],
		['https://api.replicate.com/v1/predictions', false],
		['http://example.com/', false],
		['http://127.0.0.1.nip.io/', false],
		['http://localhost.example.com/', false],
		['http://127.0.0.1@example.com/', false],
		['http://0.0.0.0/', false],
		['http://10.0.0.1/', false],
		['http://[::ffff:127.0.0.1]/', false],
		['ftp://127.0.0.1/', false],
		['file:///etc/passwd', false],
		['not a url', false],
	])('%s → %s', (url, allowed) => {
		expect(isLoopbackUrl(url)).toBe(allowed)
	})
})
