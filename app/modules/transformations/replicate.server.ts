// The Replicate adapter: the only code that talks to Replicate (worker and webhook route call it).
import crypto from 'node:crypto'
import Replicate from 'replicate'
import { z } from 'zod'
import { SNIFF_BYTES, sniffFormat } from '#app/modules/photos/image.server.ts'

export type ReplicateConfig = {
	apiToken: string
	/** Default https://api.replicate.com/v1 (tests: the fake's `http://127.0.0.1:PORT/v1`). */
	baseUrl?: string
	/** whsec_…; unset → fetched once from the API. */
	webhookSecret?: string
	/** Per API request (default 30 s). */
	timeoutMs?: number
}

export type PredictionStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled'

export type PredictionState = { id: string; status: PredictionStatus; outputUrl: string | null; error: string | null }

export type ProviderErrorCode =
	| 'rate_limited'
	| 'unavailable'
	| 'rejected'
	| 'auth'
	| 'not_found'
	| 'output_missing'
	| 'output_too_large'
	| 'output_not_image'
	| 'timeout'

/** Why a provider call failed; `transient` says whether trying again later may work. */
export class ProviderError extends Error {
	override name = 'ProviderError'
	/** From a 429's Retry-After, when Replicate gave one. */
	readonly retryAfterSeconds: number | null

	constructor(
		message: string,
		readonly code: ProviderErrorCode,
		readonly transient: boolean,
		options: { retryAfterSeconds?: number | null; cause?: unknown } = {},
	) {
		super(message, { cause: options.cause })
		this.retryAfterSeconds = options.retryAfterSeconds ?? null
	}
}

export const DEFAULT_BASE_URL = 'https://api.replicate.com/v1'
const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_TOLERANCE_SECONDS = 300
const ABORTED_ERROR = 'Prediction aborted by Replicate before it ran'

// The edge (STYLE 8): only what we read. 'aborted' is a real status the SDK's types list.
const predictionSchema = z.object({
	id: z.string().min(1),
	status: z.enum(['starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted']),
	output: z.unknown().optional(),
	error: z.unknown().optional(),
})
const secretSchema = z.object({ key: z.string().startsWith('whsec_') })

function isHttpUrl(value: string) {
	if (!URL.canParse(value)) return false
	const { protocol } = new URL(value)
	return protocol === 'http:' || protocol === 'https:'
}

const isHttpUrlString = (value: unknown): value is string => typeof value === 'string' && isHttpUrl(value)

/** The image URL of an output: the string itself, or the last URL of an array; null otherwise. */
function outputUrl(output: unknown): string | null {
	if (isHttpUrlString(output)) return output
	if (Array.isArray(output)) return output.findLast(isHttpUrlString) ?? null
	return null
}

function errorText(error: unknown): string | null {
	if (error === undefined || error === null || error === '') return null
	return typeof error === 'string' ? error : JSON.stringify(error)
}

/** A prediction JSON (API answer or webhook body) as our state; throws ZodError on a foreign shape. */
export function toState(json: unknown): PredictionState {
	const prediction = predictionSchema.parse(json)
	// 'aborted' (terminated before it started, e.g. a deadline) is a failure we did not ask for.
	if (prediction.status === 'aborted')
		return { id: prediction.id, status: 'failed', outputUrl: null, error: errorText(prediction.error) ?? ABORTED_ERROR }
	return {
		id: prediction.id,
		status: prediction.status,
		// A running prediction may hold partial output: only a finished one has a result.
		outputUrl: prediction.status === 'succeeded' ? outputUrl(prediction.output) : null,
		error: errorText(prediction.error),
	}
}

/** `Retry-After` as seconds (delta or HTTP date); null when absent or unreadable. */
function retryAfter(headers: Headers): number | null {
	const value = headers.get('retry-after')
	if (!value) return null
	if (/^\d+$/.test(value)) return Number(value)
	const date = Date.parse(value)
	return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000))
}

function isTimeout(error: unknown) {
	const name = (error as { name?: unknown } | null)?.name
	return name === 'TimeoutError' || name === 'AbortError'
}

/**
 * Any failure of an SDK call as a ProviderError. The SDK throws ApiError (not exported at
 * runtime: recognised by name + response) whose message ends with the response body.
 */
function toProviderError(error: unknown, action: string): ProviderError {
	if (error instanceof ProviderError) return error
	const response = (error as { response?: unknown } | null)?.response
	if (error instanceof Error && error.name === 'ApiError' && response instanceof Response) {
		const { status } = response
		const body = /failed with status \d+[^:]*: (.*)\.$/s.exec(error.message)?.[1] ?? ''
		let detail = body
		try {
			detail = String((JSON.parse(body) as { detail?: unknown }).detail ?? body)
		} catch {
			// Not JSON (a proxy's page): keep the text.
		}
		const message = `Replicate ${action}: HTTP ${status}${detail ? ` (${detail.slice(0, 500)})` : ''}`
		const options = { cause: error, retryAfterSeconds: status === 429 ? retryAfter(response.headers) : null }
		if (status === 429) return new ProviderError(message, 'rate_limited', true, options)
		if (status === 408) return new ProviderError(message, 'timeout', true, options)
		if (status >= 500) return new ProviderError(message, 'unavailable', true, options)
		if (status === 401 || status === 403) return new ProviderError(message, 'auth', false, options)
		if (status === 404) return new ProviderError(message, 'not_found', false, options)
		return new ProviderError(message, 'rejected', false, options)
	}
	if (isTimeout(error)) return new ProviderError(`Replicate ${action}: timed out`, 'timeout', true, { cause: error })
	// undici's 'fetch failed' (refused, reset, DNS) is a TypeError; a truncated or non-JSON 2xx body, a SyntaxError or ZodError.
	if (error instanceof TypeError || error instanceof SyntaxError || error instanceof z.ZodError)
		return new ProviderError(`Replicate ${action}: ${error.message}`, 'unavailable', true, { cause: error })
	return new ProviderError(`Replicate ${action}: ${error instanceof Error ? error.message : String(error)}`, 'rejected', false, {
		cause: error,
	})
}

async function attempt<T>(action: string, call: () => Promise<T>): Promise<T> {
	try {
		return await call()
	} catch (error) {
		throw toProviderError(error, action)
	}
}

/** `owner/name:version` or `owner/name` (an official model, addressed without version). */
function parseModel(model: string) {
	const match = /^([^/\s]+)\/([^/:\s]+)(?::(\S+))?$/.exec(model)
	if (!match) throw new ProviderError(`Invalid Replicate model reference: ${model}`, 'rejected', false)
	return { model: `${match[1]}/${match[2]}`, version: match[3] ?? null }
}

/**
 * A fetch that performs each SDK request once, with a timeout.
 *
 * Why: the SDK retries by itself (lib/util.js withAutomaticRetries: 429 on POST, 429/5xx on GET,
 * and ANY thrown fetch error whatever the method, 5 retries + 1). Its backoff never waits in
 * practice (it sleeps only when `delay` is an integer, but delay includes Math.random() jitter;
 * Retry-After is only read from errors fetch never throws), so this is a burst of 6 requests
 * in a few ms, and a POST whose connection dropped after Replicate got it is sent again (a second
 * paid prediction). So we give up the SDK's retries: every retry of one request reuses the
 * request's `init` object, and we answer those with the first attempt's outcome. One call = one
 * HTTP request; transient ProviderErrors are retried by the caller (pg-boss, with backoff).
 */
function singleAttemptFetch(timeoutMs: number) {
	const sent = new WeakMap<object, Promise<Response>>()
	return (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
		const withTimeout = (signal?: AbortSignal | null) =>
			signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs)
		if (!init) return fetch(input, { signal: withTimeout() })
		let response = sent.get(init)
		if (!response) {
			response = fetch(input, { ...init, signal: withTimeout(init.signal) })
			sent.set(init, response)
		}
		return response
	}
}

/** The Replicate client of the app: create / get / cancel predictions, the webhook secret. Errors are ProviderErrors. */
export function createReplicateClient(config: ReplicateConfig) {
	const replicate = new Replicate({
		auth: config.apiToken,
		baseUrl: config.baseUrl ?? DEFAULT_BASE_URL,
		userAgent: 'renzo (replicate-javascript/1.4)',
		fetch: singleAttemptFetch(config.timeoutMs ?? DEFAULT_TIMEOUT_MS),
		// Only run() makes FileOutputs; we never call run() (it blocks with Prefer: wait).
		useFileOutput: false,
	})
	let secret: Promise<string> | undefined

	return {
		/** Starts a prediction (not idempotent: persist the id at once). With a webhook URL, Replicate calls it once, when completed. */
		async create(input: { model: string; input: Record<string, unknown>; webhookUrl: string | null }): Promise<PredictionState> {
			const { model, version } = parseModel(input.model)
			if (input.webhookUrl !== null && !isHttpUrl(input.webhookUrl))
				throw new ProviderError(`Invalid webhook URL: ${input.webhookUrl}`, 'rejected', false)
			const webhook = input.webhookUrl ? { webhook: input.webhookUrl, webhook_events_filter: ['completed' as const] } : {}
			const prediction = await attempt('create', () =>
				replicate.predictions.create({ ...(version ? { version } : { model }), input: input.input, ...webhook }),
			)
			return attempt('create', async () => toState(prediction))
		},

		async get(id: string): Promise<PredictionState> {
			const prediction = await attempt('get', () => replicate.predictions.get(encodeURIComponent(id)))
			return attempt('get', async () => toState(prediction))
		},

		/** Cancels a running prediction; a finished one is returned as it is. */
		async cancel(id: string): Promise<PredictionState> {
			const prediction = await attempt('cancel', () => replicate.predictions.cancel(encodeURIComponent(id)))
			return attempt('cancel', async () => toState(prediction))
		},

		/** The webhook signing secret: the configured one, else the account's, fetched once (a failure is not cached). */
		webhookSecret(): Promise<string> {
			if (config.webhookSecret) return Promise.resolve(config.webhookSecret)
			secret ??= attempt('webhook secret', async () => secretSchema.parse(await replicate.webhooks.default.secret.get()).key)
			secret.catch(() => {
				secret = undefined
			})
			return secret
		},
	}
}

export type ReplicateClient = ReturnType<typeof createReplicateClient>

/**
 * Checks a Replicate webhook (Svix scheme): HMAC-SHA256 of `id.timestamp.body` keyed by the
 * base64 part of `whsec_…`, compared in constant time with each `v1,` entry of the header, and a
 * timestamp within `toleranceSeconds` of now either way (the SDK's validateWebhook skips that:
 * a replayed message would pass). Dedupe on `webhookId`: Replicate may deliver twice.
 */
export function verifyReplicateWebhook(input: {
	headers: Headers
	rawBody: string
	secret: string
	now?: number
	toleranceSeconds?: number
}): { ok: true; webhookId: string; prediction: PredictionState } | { ok: false; reason: 'malformed' | 'signature' | 'timestamp' } {
	const id = input.headers.get('webhook-id')
	const timestamp = input.headers.get('webhook-timestamp')
	const signatures = input.headers.get('webhook-signature')
	if (!id || !timestamp || !/^\d{1,15}$/.test(timestamp) || !signatures) return { ok: false, reason: 'malformed' }

	const key = Buffer.from(input.secret.startsWith('whsec_') ? input.secret.slice('whsec_'.length) : input.secret, 'base64')
	if (key.length === 0) throw new Error('The Replicate webhook secret is empty or not base64')
	const expected = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${input.rawBody}`).digest()
	let valid = false
	for (const entry of signatures.split(' ')) {
		const [version, signature] = entry.split(',')
		if (version !== 'v1' || !signature) continue
		const given = Buffer.from(signature, 'base64')
		// timingSafeEqual needs equal lengths; the length of an HMAC is no secret.
		if (given.length === expected.length && crypto.timingSafeEqual(given, expected)) valid = true
	}
	if (!valid) return { ok: false, reason: 'signature' }

	const now = input.now ?? Date.now()
	if (Math.abs(now / 1000 - Number(timestamp)) > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS))
		return { ok: false, reason: 'timestamp' }

	try {
		return { ok: true, webhookId: id, prediction: toState(JSON.parse(input.rawBody)) }
	} catch {
		return { ok: false, reason: 'malformed' }
	}
}

/**
 * Downloads a prediction's output (Replicate deletes it after an hour: copy it at once). Reads at
 * most `maxBytes` (the connection is dropped past that), gives up after `timeoutMs` (headers and
 * body), and accepts only JPEG/PNG/WebP by their magic bytes. An abort through `signal` rejects
 * with the signal's reason, not a ProviderError.
 */
export async function downloadOutput(url: string, options: { maxBytes: number; timeoutMs: number; signal?: AbortSignal }): Promise<Buffer> {
	if (!isHttpUrl(url)) throw new ProviderError(`Output URL is not http(s): ${url.slice(0, 100)}`, 'output_missing', false)
	const timeout = AbortSignal.timeout(options.timeoutMs)
	const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
	const failure = (error: unknown) => {
		if (error instanceof ProviderError) return error
		if (options.signal?.aborted) return options.signal.reason as unknown
		if (timeout.aborted || isTimeout(error))
			return new ProviderError(`Output download timed out after ${options.timeoutMs} ms`, 'timeout', true, { cause: error })
		return new ProviderError(`Output download failed: ${error instanceof Error ? error.message : String(error)}`, 'unavailable', true, {
			cause: error,
		})
	}

	let response: Response
	try {
		response = await fetch(url, { signal })
	} catch (error) {
		throw failure(error)
	}
	const reader = response.body?.getReader()
	try {
		if (!response.ok)
			throw new ProviderError(
				`Output download: HTTP ${response.status}`,
				'output_missing',
				response.status === 429 || response.status >= 500,
			)
		if (!reader) throw new ProviderError('Output download: empty body', 'output_not_image', false)
		if (Number(response.headers.get('content-length')) > options.maxBytes)
			throw new ProviderError(
				`Output is ${response.headers.get('content-length')} bytes, over ${options.maxBytes}`,
				'output_too_large',
				false,
			)

		const chunks: Uint8Array[] = []
		let size = 0
		let sniffed = false
		for (;;) {
			const { done, value } = await reader.read()
			if (done) break
			size += value.byteLength
			if (size > options.maxBytes) throw new ProviderError(`Output is over ${options.maxBytes} bytes`, 'output_too_large', false)
			chunks.push(value)
			// Refuse a non-image from its first bytes rather than after downloading all of it.
			if (!sniffed && size >= SNIFF_BYTES) {
				sniffed = true
				assertImage(Buffer.concat(chunks, size))
			}
		}
		const bytes = Buffer.concat(chunks, size)
		if (!sniffed) assertImage(bytes)
		return bytes
	} catch (error) {
		throw failure(error)
	} finally {
		// Drops the connection if the body was not read to the end (no-op otherwise).
		await reader?.cancel().catch(() => undefined)
	}
}

function assertImage(head: Buffer) {
	const format = sniffFormat(head.subarray(0, SNIFF_BYTES))
	if (format !== 'jpeg' && format !== 'png' && format !== 'webp')
		throw new ProviderError('Output is not a JPEG, PNG or WebP image', 'output_not_image', false)
}
