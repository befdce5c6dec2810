import crypto from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import sharp from 'sharp'
import { isLoopbackUrl } from './loopback.ts'

export { isLoopbackUrl }

/**
 * A real HTTP fake of Replicate's API, as the `replicate` SDK 1.4 calls it (STACK-NOTES):
 * predictions (version and official-model routes), get, cancel, the default webhook secret,
 * Bearer auth, Svix-style signed webhooks. A prediction really runs: the fake downloads
 * `input.image` (or `input_image`, FLUX Kontext's name) and serves a brightened, warmed copy made
 * with Sharp at `/files/<id>.png`.
 *
 * SAFETY: the fake only ever connects to 127.0.0.1, localhost (pinned to 127.0.0.1) or ::1.
 * Any other input or webhook URL is refused and recorded, never connected to (`isLoopbackUrl`).
 *
 * Not modelled: `Prefer: wait` (answers at once), `output`/`logs` webhook events, webhook retries
 * by the fake itself (use `deliverWebhook`), streaming, files upload, deployments, trainings.
 */

export type BehaviourName =
	| 'success'
	| 'slow'
	| 'failed'
	| 'http-500-then-success'
	| 'http-429-then-success'
	| 'no-webhook'
	| 'webhook-twice'
	| 'bad-signature'
	| 'output-404'
	| 'output-not-image'
	| 'output-huge'
	| 'output-stall'

/**
 * What the next prediction does. A name, or an object for the tunable ones:
 * - `slow`: stays `processing` until `complete(id)` (or `fail`, cancel), or until `delayMs`.
 * - `failed`: ends `failed` with `error` (default: Replicate's NSFW message).
 * - `http-500-then-success` / `http-429-then-success`: the create request answers the status
 *   `times` times (default 1; 429 with `retry-after: retryAfterSeconds`), then succeeds.
 * - `output-not-image`: the output URL serves `text/plain` (`as: 'text'`, default) or random
 *   bytes labelled image/png (`as: 'bytes'`).
 * - `output-huge`: the output URL streams a PNG signature then zeros, chunked, without end
 *   (stops at 256 MiB or when the client hangs up; see `fileBytesServed`).
 * - `output-stall`: the output URL sends its headers and 8 bytes, then nothing.
 */
export type Behaviour =
	| BehaviourName
	| { kind: 'slow'; delayMs?: number }
	| { kind: 'failed'; error?: string }
	| { kind: 'http-500-then-success' | 'http-429-then-success'; times?: number; retryAfterSeconds?: number }
	| { kind: 'output-not-image'; as?: 'text' | 'bytes' }

export type PredictionStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled'
export type WebhookEvent = 'start' | 'output' | 'logs' | 'completed'

/** A prediction as Replicate's API returns it. */
export type FakePrediction = {
	id: string
	model: string
	version: string
	input: Record<string, unknown>
	logs: string
	output: string | string[] | null
	error: string | null
	status: PredictionStatus
	source: 'api'
	data_removed: boolean
	webhook?: string
	webhook_events_filter?: WebhookEvent[]
	created_at: string
	started_at: string | null
	completed_at: string | null
	urls: { get: string; cancel: string; web: string }
	metrics: { predict_time?: number; total_time?: number }
}

/** One request the fake received (API and output files alike). */
export type SeenRequest = { method: string; path: string; headers: http.IncomingHttpHeaders; body: unknown }

/** One webhook delivery attempt: `status` is what the receiver answered, null when not sent. */
export type WebhookDelivery = {
	predictionId: string
	event: WebhookEvent
	url: string
	webhookId: string
	timestamp: number
	headers: Record<string, string>
	body: string
	status: number | null
	error: string | null
}

type Plan = {
	kind: BehaviourName
	delayMs?: number
	error?: string
	as: 'text' | 'bytes'
	httpFailuresLeft: number
	retryAfterSeconds: number
}

type Entry = {
	prediction: FakePrediction
	plan: Plan
	/** One id per event, kept across redeliveries (as Svix does). */
	webhookIds: Partial<Record<WebhookEvent, string>>
	timer?: NodeJS.Timeout
}

export type ReplicateFakeOptions = {
	/** Default 0 (any free port); a fixed port lets the app's dev server use the fake. */
	port?: number
	token?: string
	webhookSecret?: string
	behaviour?: Behaviour
	outputShape?: 'string' | 'array'
	outputFormat?: 'png' | 'webp'
	webhookClockOffsetMs?: number
	apiLatencyMs?: number
	/**
	 * Render each distinct input once (benchmarks: the fake stands in for Replicate's GPUs, its
	 * Sharp work must not eat the CPU being measured). Off by default: tests keep the real cost.
	 */
	memoizeOutputs?: boolean
	/**
	 * Reuse connections to the app (benchmarks: in production a proxy holds pooled connections to
	 * the app, which then never pays a connection per webhook). Off by default: a pooled socket that
	 * a test's server is closing at that moment would fail a request at random.
	 */
	keepAlive?: boolean
}

export const NSFW_ERROR = 'NSFW content detected. Try running it again, or try a different prompt.'
const TERMINAL: ReadonlySet<PredictionStatus> = new Set(['succeeded', 'failed', 'canceled'])
const EVENTS: ReadonlySet<string> = new Set(['start', 'output', 'logs', 'completed'])
const MAX_INPUT_BYTES = 50 * 1024 * 1024
const HUGE_OUTPUT_LIMIT = 256 * 1024 * 1024
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** `webhook-signature` for a message: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed by the base64 part of `whsec_…`. */
export function signWebhook(input: { id: string; timestamp: number; body: string; secret: string }) {
	const key = Buffer.from(input.secret.startsWith('whsec_') ? input.secret.slice('whsec_'.length) : input.secret, 'base64')
	const digest = crypto.createHmac('sha256', key).update(`${input.id}.${input.timestamp}.${input.body}`).digest('base64')
	return `v1,${digest}`
}

function newWebhookSecret() {
	return `whsec_${crypto.randomBytes(32).toString('base64')}`
}

/** Replicate-looking ids: 26 characters of lowercase base32. */
function predictionId() {
	const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
	return Array.from({ length: 26 }, () => alphabet[crypto.randomInt(alphabet.length)]).join('')
}

function toPlan(behaviour: Behaviour): Plan {
	const b = typeof behaviour === 'string' ? { kind: behaviour } : behaviour
	const times = 'times' in b ? (b.times ?? 1) : 1
	return {
		kind: b.kind,
		delayMs: 'delayMs' in b ? b.delayMs : undefined,
		error: 'error' in b ? b.error : undefined,
		as: 'as' in b ? (b.as ?? 'text') : 'text',
		httpFailuresLeft: b.kind === 'http-500-then-success' || b.kind === 'http-429-then-success' ? times : 0,
		retryAfterSeconds: 'retryAfterSeconds' in b ? (b.retryAfterSeconds ?? 1) : 1,
	}
}

function sleep(ms: number) {
	return new Promise<void>((resolve) => setTimeout(resolve, ms))
}

function readBody(req: http.IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = []
		req.on('data', (chunk: Buffer) => chunks.push(chunk))
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
		req.on('error', reject)
	})
}

/**
 * One HTTP request to a loopback URL (refused otherwise, before any socket exists). `localhost`
 * is pinned to 127.0.0.1 so name resolution cannot send it elsewhere; redirects are not followed.
 */
function loopbackRequest(
	url: string,
	options: {
		method: 'GET' | 'POST'
		headers?: Record<string, string>
		body?: string
		maxBytes: number
		timeoutMs: number
		agent?: http.Agent
	},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
	if (!isLoopbackUrl(url)) return Promise.reject(new Error(`refused: ${url} is not a loopback URL`))
	const target = new URL(url)
	const host = target.hostname === '[::1]' ? '::1' : '127.0.0.1'
	const client = target.protocol === 'https:' ? https : http
	return new Promise((resolve, reject) => {
		const req = client.request(
			{
				host,
				port: target.port || (target.protocol === 'https:' ? 443 : 80),
				path: `${target.pathname}${target.search}`,
				method: options.method,
				headers: { host: target.host, ...options.headers },
				timeout: options.timeoutMs,
				// Loopback test servers use self-signed certificates when they use TLS at all.
				rejectUnauthorized: false,
				// A fresh connection each time unless the fake keeps them (ReplicateFakeOptions.keepAlive).
				agent: options.agent ?? false,
			},
			(res) => {
				const chunks: Buffer[] = []
				let size = 0
				res.on('data', (chunk: Buffer) => {
					size += chunk.length
					if (size > options.maxBytes) req.destroy(new Error(`response larger than ${options.maxBytes} bytes`))
					else chunks.push(chunk)
				})
				res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
				res.on('error', reject)
			},
		)
		req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)))
		req.on('error', reject)
		req.end(options.body)
	})
}

async function fetchInput(url: string, agent: http.Agent | undefined): Promise<Buffer> {
	const dataUri = /^data:[^,]*;base64,(.*)$/s.exec(url)
	if (dataUri) return Buffer.from(dataUri[1]!, 'base64')
	const response = await loopbackRequest(url, { method: 'GET', maxBytes: MAX_INPUT_BYTES, timeoutMs: 10_000, agent })
	if (response.status < 200 || response.status >= 300) throw new Error(`HTTP ${response.status}`)
	return response.body
}

function errorMessage(error: unknown) {
	return error instanceof Error ? error.message : String(error)
}

/** Replicate's error body. */
function problem(res: http.ServerResponse, status: number, title: string, detail: string, headers: Record<string, string> = {}) {
	res.writeHead(status, { 'content-type': 'application/json', ...headers })
	res.end(JSON.stringify({ title, detail, status }))
}

function json(res: http.ServerResponse, status: number, body: unknown) {
	res.writeHead(status, { 'content-type': 'application/json' })
	res.end(JSON.stringify(body))
}

/** The fake; start it with `startReplicateFake`. */
export class ReplicateFake {
	/** `http://127.0.0.1:PORT/v1`: the SDK's `baseUrl`. */
	readonly baseUrl: string
	readonly origin: string
	readonly token: string
	readonly webhookSecret: string
	/** Every prediction created, live (the fake mutates them as they run). */
	readonly predictions = new Map<string, FakePrediction>()
	/** Every request received, oldest first. */
	readonly requests: SeenRequest[] = []
	/** Every webhook delivery attempt once it has an outcome, oldest first (refused or failed ones: `status: null`, `error`). */
	readonly webhooksSent: WebhookDelivery[] = []
	/** Failures inside the fake's background work (never printed: tests fail on console.error). */
	readonly errors: string[] = []
	/** Bytes written by `output-huge` files, by prediction id (to check that a client stopped reading). */
	readonly fileBytesServed = new Map<string, number>()
	/** How `output` looks on success: a URL, or a one-element array of URLs (real models do both). */
	outputShape: 'string' | 'array'
	outputFormat: 'png' | 'webp'
	/** Added to the clock for `webhook-timestamp` (negative: stale messages; positive: from the future). */
	webhookClockOffsetMs: number
	/** Delay before every API answer (to test client timeouts). */
	apiLatencyMs: number

	private readonly entries = new Map<string, Entry>()
	private readonly files = new Map<string, { body: Buffer; contentType: string } | { stream: 'huge' | 'stall' }>()
	private readonly pending = new Set<Promise<unknown>>()
	private queue: Plan[] = []
	private globalBehaviour: Behaviour = 'success'
	private globalPlan: Plan | null = null
	private closed = false

	constructor(
		private readonly server: http.Server,
		port: number,
		options: ReplicateFakeOptions,
	) {
		this.origin = `http://127.0.0.1:${port}`
		this.baseUrl = `${this.origin}/v1`
		this.token = options.token ?? `r8_fake_${crypto.randomBytes(12).toString('hex')}`
		this.webhookSecret = options.webhookSecret ?? newWebhookSecret()
		this.outputShape = options.outputShape ?? 'string'
		this.outputFormat = options.outputFormat ?? 'png'
		this.webhookClockOffsetMs = options.webhookClockOffsetMs ?? 0
		this.apiLatencyMs = options.apiLatencyMs ?? 0
		this.memoizeOutputs = options.memoizeOutputs ?? false
		this.agent = options.keepAlive ? new http.Agent({ keepAlive: true }) : undefined
		if (options.behaviour) this.behave(options.behaviour)
	}

	/** The behaviour of every prediction not covered by `next` (default `success`). */
	behave(behaviour: Behaviour) {
		this.globalBehaviour = behaviour
		this.globalPlan = null
	}

	/** Back to the defaults: `success`, empty queue, string output, PNG, no clock offset, no latency (logs are kept). */
	reset() {
		this.behave('success')
		this.queue = []
		this.outputShape = 'string'
		this.outputFormat = 'png'
		this.webhookClockOffsetMs = 0
		this.apiLatencyMs = 0
	}

	/** Queues behaviours, consumed one per created prediction, before the global one applies again. */
	next(...behaviours: Behaviour[]) {
		this.queue.push(...behaviours.map(toPlan))
	}

	/** Finishes a prediction now (real output from its input), then sends its webhook; returns it. */
	async complete(id: string): Promise<FakePrediction> {
		const entry = this.running(id)
		clearTimeout(entry.timer)
		await this.track(this.produce(entry))
		return entry.prediction
	}

	/** Fails a prediction now with `error`, then sends its webhook; returns it. */
	async fail(id: string, error = NSFW_ERROR): Promise<FakePrediction> {
		const entry = this.running(id)
		clearTimeout(entry.timer)
		await this.track(this.finish(entry, 'failed', { error }))
		return entry.prediction
	}

	/** Sends an event's webhook again (same webhook-id, fresh timestamp), whatever the behaviour. */
	async deliverWebhook(id: string, event: WebhookEvent = 'completed'): Promise<WebhookDelivery> {
		const entry = this.entries.get(id)
		if (!entry) throw new Error(`no prediction ${id}`)
		return this.track(this.send(entry, event))
	}

	/** Resolves once the background work in flight (runs, webhooks) is done. */
	async settled() {
		while (this.pending.size > 0) await Promise.allSettled([...this.pending])
	}

	async close() {
		this.closed = true
		for (const entry of this.entries.values()) clearTimeout(entry.timer)
		this.server.closeAllConnections()
		await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())))
		await this.settled()
		this.agent?.destroy()
	}

	/** The request handler (public for the server only). */
	async handle(req: http.IncomingMessage, res: http.ServerResponse) {
		const url = new URL(req.url ?? '/', this.origin)
		const raw = await readBody(req)
		let body: unknown = raw
		if (raw && req.headers['content-type']?.includes('json')) {
			try {
				body = JSON.parse(raw)
			} catch {
				// Kept raw: the route answers 400.
			}
		}
		this.requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, headers: req.headers, body })

		if (url.pathname.startsWith('/files/')) return this.serveFile(url.pathname.slice('/files/'.length), res)
		if (!url.pathname.startsWith('/v1/')) return problem(res, 404, 'Not found', 'The requested resource could not be found.')
		if (this.apiLatencyMs > 0) await sleep(this.apiLatencyMs)
		if (req.headers.authorization !== `Bearer ${this.token}`)
			return problem(res, 401, 'Unauthenticated', 'You did not pass a valid authentication token')

		const path = url.pathname.slice('/v1'.length)
		const method = req.method ?? 'GET'
		let match: RegExpExecArray | null
		if (method === 'POST' && path === '/predictions') return this.create(res, body, null)
		if (method === 'POST' && (match = /^\/models\/([^/]+)\/([^/]+)\/predictions$/.exec(path)))
			return this.create(res, body, `${match[1]}/${match[2]}`)
		if (method === 'GET' && (match = /^\/predictions\/([^/]+)$/.exec(path))) {
			const entry = this.entries.get(match[1]!)
			return entry ? json(res, 200, entry.prediction) : problem(res, 404, 'Not found', 'Not found.')
		}
		if (method === 'POST' && (match = /^\/predictions\/([^/]+)\/cancel$/.exec(path))) return this.cancel(res, match[1]!)
		if (method === 'GET' && path === '/webhooks/default/secret') return json(res, 200, { key: this.webhookSecret })
		return problem(res, 404, 'Not found', 'The requested resource could not be found.')
	}

	private create(res: http.ServerResponse, body: unknown, model: string | null) {
		const plan = this.queue[0] ?? (this.globalPlan ??= toPlan(this.globalBehaviour))
		if (plan.httpFailuresLeft > 0) {
			plan.httpFailuresLeft -= 1
			if (plan.kind === 'http-429-then-success')
				return problem(
					res,
					429,
					'Request was throttled.',
					`Request was throttled. Expected available in ${plan.retryAfterSeconds} second.`,
					{
						'retry-after': String(plan.retryAfterSeconds),
					},
				)
			return problem(res, 500, 'Internal Server Error', 'Something went wrong on our end.')
		}

		if (typeof body !== 'object' || body === null) return problem(res, 400, 'Bad request', 'The request body is not valid JSON.')
		const data = body as Record<string, unknown>
		if (model === null && (typeof data.version !== 'string' || !data.version))
			return problem(res, 422, 'Invalid version', '- version: Invalid type. Expected: string, given: null')
		const input = data.input
		if (typeof input !== 'object' || input === null || Array.isArray(input))
			return problem(res, 422, 'Input validation failed', '- input: Invalid type. Expected: object')
		const inputRecord = input as Record<string, unknown>
		if (typeof (inputRecord.image ?? inputRecord.input_image) !== 'string')
			return problem(res, 422, 'Input validation failed', '- (root): image is required')
		const webhook = data.webhook
		if (webhook !== undefined && (typeof webhook !== 'string' || !URL.canParse(webhook)))
			return problem(res, 422, 'Input validation failed', '- webhook: Does not match format uri')
		const filter = data.webhook_events_filter
		if (filter !== undefined && (!Array.isArray(filter) || filter.some((event) => typeof event !== 'string' || !EVENTS.has(event))))
			return problem(res, 422, 'Input validation failed', '- webhook_events_filter: must be start, output, logs or completed')

		// The create succeeds: the behaviour is used up (the global one is re-armed for the next).
		if (this.queue[0] === plan) this.queue.shift()
		else this.globalPlan = null

		const id = predictionId()
		const prediction: FakePrediction = {
			id,
			model: model ?? 'renzo-fake/image-model',
			version: model === null ? (data.version as string) : 'hidden',
			input: inputRecord,
			logs: '',
			output: null,
			error: null,
			status: 'starting',
			source: 'api',
			data_removed: false,
			...(typeof webhook === 'string' ? { webhook } : {}),
			...(filter !== undefined ? { webhook_events_filter: filter as WebhookEvent[] } : {}),
			created_at: new Date().toISOString(),
			started_at: null,
			completed_at: null,
			urls: {
				get: `${this.baseUrl}/predictions/${id}`,
				cancel: `${this.baseUrl}/predictions/${id}/cancel`,
				web: `${this.origin}/p/${id}`,
			},
			metrics: {},
		}
		const entry: Entry = { prediction, plan, webhookIds: {} }
		this.entries.set(id, entry)
		this.predictions.set(id, prediction)
		json(res, 201, prediction)
		void this.track(this.run(entry))
	}

	private async cancel(res: http.ServerResponse, id: string) {
		const entry = this.entries.get(id)
		if (!entry) return problem(res, 404, 'Not found', 'Not found.')
		if (!TERMINAL.has(entry.prediction.status)) {
			clearTimeout(entry.timer)
			this.markTerminal(entry, 'canceled', {})
			void this.track(this.sendCompleted(entry))
		}
		json(res, 200, entry.prediction)
	}

	private serveFile(name: string, res: http.ServerResponse) {
		const file = this.files.get(name)
		if (!file) return problem(res, 404, 'Not found', 'The requested file could not be found (it may have expired).')
		if (!('stream' in file)) {
			res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.body.length) })
			return res.end(file.body)
		}
		res.writeHead(200, { 'content-type': 'image/png' })
		res.write(PNG_SIGNATURE)
		if (file.stream === 'stall') return
		const id = name.replace(/\.\w+$/, '')
		const chunk = Buffer.alloc(64 * 1024)
		let sent = PNG_SIGNATURE.length
		const pump = () => {
			while (!res.destroyed && sent < HUGE_OUTPUT_LIMIT) {
				sent += chunk.length
				this.fileBytesServed.set(id, sent)
				if (!res.write(chunk)) return void res.once('drain', pump)
			}
			res.end()
		}
		pump()
	}

	private running(id: string) {
		const entry = this.entries.get(id)
		if (!entry) throw new Error(`no prediction ${id}`)
		if (TERMINAL.has(entry.prediction.status)) throw new Error(`prediction ${id} is already ${entry.prediction.status}`)
		return entry
	}

	private track<T>(work: Promise<T>): Promise<T> {
		const tracked = work.catch((error: unknown) => {
			this.errors.push(errorMessage(error))
			throw error
		})
		const quiet = tracked.catch(() => undefined)
		this.pending.add(quiet)
		void quiet.finally(() => this.pending.delete(quiet))
		return tracked
	}

	private async run(entry: Entry) {
		await sleep(5)
		if (this.closed || entry.prediction.status !== 'starting') return
		entry.prediction.status = 'processing'
		entry.prediction.started_at = new Date().toISOString()
		entry.prediction.logs = 'Using seed: 42\n'
		if (this.wants(entry, 'start')) await this.send(entry, 'start')
		switch (entry.plan.kind) {
			case 'slow':
				if (entry.plan.delayMs !== undefined)
					entry.timer = setTimeout(() => void this.track(this.produce(entry)).catch(() => undefined), entry.plan.delayMs)
				return
			case 'failed':
				return this.finish(entry, 'failed', { error: entry.plan.error ?? NSFW_ERROR })
			default:
				return this.produce(entry)
		}
	}

	/**
	 * The "model": the input, warmer and brighter, same size. The same input gives the same bytes,
	 * so with memoizeOutputs they are kept for a few inputs (bench/transformations.ts orders 1000 of
	 * one photo).
	 */
	private readonly memoizeOutputs: boolean
	/** Set with ReplicateFakeOptions.keepAlive. */
	private readonly agent: http.Agent | undefined
	private readonly rendered = new Map<string, { body: Buffer; contentType: string }>()
	private async render(input: Buffer) {
		const key = `${this.outputFormat}:${crypto.createHash('sha256').update(input).digest('hex')}`
		const known = this.memoizeOutputs ? this.rendered.get(key) : undefined
		if (known) return known
		const image = sharp(input).rotate().modulate({ brightness: 1.15, saturation: 1.1 }).tint({ r: 255, g: 240, b: 220 })
		const output =
			this.outputFormat === 'webp'
				? { body: await image.webp().toBuffer(), contentType: 'image/webp' }
				: { body: await image.png().toBuffer(), contentType: 'image/png' }
		if (!this.memoizeOutputs) return output
		if (this.rendered.size >= 16) this.rendered.delete(this.rendered.keys().next().value!)
		this.rendered.set(key, output)
		return output
	}

	/** Downloads the input, writes the output file as the behaviour says, ends the prediction. */
	private async produce(entry: Entry) {
		const { prediction, plan } = entry
		const source = prediction.input.image ?? prediction.input.input_image
		let output: { body: Buffer; contentType: string }
		try {
			const input = await fetchInput(String(source), this.agent)
			output = await this.render(input)
		} catch (error) {
			return this.finish(entry, 'failed', { error: `Failed to load input image: ${errorMessage(error)}` })
		}
		if (TERMINAL.has(prediction.status)) return
		const name = `${prediction.id}.${this.outputFormat}`
		if (plan.kind === 'output-not-image')
			this.files.set(
				name,
				plan.as === 'bytes'
					? { body: crypto.randomBytes(4096), contentType: this.outputFormat === 'webp' ? 'image/webp' : 'image/png' }
					: { body: Buffer.from('this is not an image\n'), contentType: 'text/plain; charset=utf-8' },
			)
		else if (plan.kind === 'output-huge') this.files.set(name, { stream: 'huge' })
		else if (plan.kind === 'output-stall') this.files.set(name, { stream: 'stall' })
		else if (plan.kind !== 'output-404') this.files.set(name, output)
		const url = `${this.origin}/files/${name}`
		return this.finish(entry, 'succeeded', { output: this.outputShape === 'array' ? [url] : url })
	}

	private markTerminal(entry: Entry, status: PredictionStatus, result: { output?: string | string[]; error?: string }) {
		const { prediction } = entry
		const now = new Date()
		prediction.status = status
		prediction.output = result.output ?? null
		prediction.error = result.error ?? null
		prediction.completed_at = now.toISOString()
		prediction.started_at ??= prediction.completed_at
		const seconds = (now.getTime() - Date.parse(prediction.started_at)) / 1000
		prediction.metrics = status === 'succeeded' ? { predict_time: seconds, total_time: seconds } : {}
		prediction.logs += status === 'succeeded' ? 'Done.\n' : ''
	}

	private async finish(entry: Entry, status: PredictionStatus, result: { output?: string | string[]; error?: string }) {
		if (TERMINAL.has(entry.prediction.status)) return
		this.markTerminal(entry, status, result)
		await this.sendCompleted(entry)
	}

	private async sendCompleted(entry: Entry) {
		if (!this.wants(entry, 'completed') || entry.plan.kind === 'no-webhook') return
		await this.send(entry, 'completed')
		if (entry.plan.kind === 'webhook-twice') await this.send(entry, 'completed')
	}

	/** Replicate sends every event when no filter is given. */
	private wants(entry: Entry, event: WebhookEvent) {
		const { webhook, webhook_events_filter: filter } = entry.prediction
		return Boolean(webhook) && (!filter || filter.includes(event))
	}

	private async send(entry: Entry, event: WebhookEvent): Promise<WebhookDelivery> {
		const url = entry.prediction.webhook
		if (!url) throw new Error(`prediction ${entry.prediction.id} has no webhook`)
		const webhookId = (entry.webhookIds[event] ??= `msg_${crypto.randomBytes(14).toString('hex')}`)
		const timestamp = Math.floor((Date.now() + this.webhookClockOffsetMs) / 1000)
		const body = JSON.stringify(entry.prediction)
		const secret = entry.plan.kind === 'bad-signature' ? newWebhookSecret() : this.webhookSecret
		const headers = {
			'content-type': 'application/json',
			'user-agent': 'Replicate-Webhooks/1.0 (renzo fake)',
			'webhook-id': webhookId,
			'webhook-timestamp': String(timestamp),
			'webhook-signature': signWebhook({ id: webhookId, timestamp, body, secret }),
		}
		const delivery: WebhookDelivery = {
			predictionId: entry.prediction.id,
			event,
			url,
			webhookId,
			timestamp,
			headers,
			body,
			status: null,
			error: null,
		}
		if (this.closed) delivery.error = 'fake closed'
		else if (!isLoopbackUrl(url)) delivery.error = `refused: ${url} is not a loopback URL`
		else {
			try {
				const response = await loopbackRequest(url, {
					method: 'POST',
					headers,
					body,
					maxBytes: 1024 * 1024,
					timeoutMs: 10_000,
					agent: this.agent,
				})
				delivery.status = response.status
			} catch (error) {
				delivery.error = errorMessage(error)
			}
		}
		// Logged once answered (or refused), so a record in webhooksSent always has its outcome.
		this.webhooksSent.push(delivery)
		if (delivery.error) this.errors.push(`webhook ${webhookId} to ${url}: ${delivery.error}`)
		return delivery
	}
}

/** Starts the fake on 127.0.0.1 (port 0 unless given). */
export async function startReplicateFake(options: ReplicateFakeOptions = {}): Promise<ReplicateFake> {
	const server = http.createServer()
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject)
		server.listen(options.port ?? 0, '127.0.0.1', resolve)
	})
	const fake = new ReplicateFake(server, (server.address() as AddressInfo).port, options)
	server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
		fake.handle(req, res).catch((error: unknown) => {
			fake.errors.push(errorMessage(error))
			if (!res.headersSent) problem(res, 500, 'Internal Server Error', 'The fake failed.')
			else res.destroy()
		})
	})
	return fake
}
