import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import type { z } from 'zod'
import { defaultLocale, type Locale, type Translate } from '#app/modules/i18n/catalog.ts'
import { resolveLocale, translator } from '#app/modules/i18n/locale.server.ts'
import { hitRateLimit } from '#app/modules/security/rate-limit.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { authenticate, type ApiUser } from './auth.server.ts'
import { ApiError, validationError, type ErrorCode } from './errors.server.ts'
import {
	claimIdempotencyKey,
	completeIdempotencyKey,
	idempotencyKeyOf,
	MultipartFingerprint,
	multipartBoundary,
	releaseIdempotencyKey,
	requestHash,
} from './idempotency.server.ts'

/** What a JSON request body may weigh (uploads are multipart and have their own limits). */
export const JSON_BODY_LIMIT_BYTES = 64 * 1024
/** What an idempotent upload may weigh to be fingerprinted: 30 files at the size limit, plus their part headers. */
const multipartLimit = () => 31 * (getEnv().UPLOAD_MAX_BYTES + 64 * 1024)
/** The rate-limit window of each key. */
export const RATE_LIMIT_WINDOW_SECONDS = 60

export type Method = 'GET' | 'POST'
export type Tag = 'Projets' | 'Photos' | 'Transformations' | 'Crédits' | 'Documentation'

type Context<P, Q, B> = {
	/** The key's owner (for a public operation: null). */
	user: ApiUser
	params: P
	query: Q
	body: B
	/** For multipart operations: the request, its body still to read. */
	request: Request
	url: URL
	t: Translate
}

/**
 * One operation of the public API: its HTTP shape (zod schemas that validate the request AND
 * describe it in the OpenAPI document, decision 013) and its handler, which calls the same
 * domain modules as the web, inside `withUser` for the key's owner.
 */
export type OperationSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> = {
	id: string
	method: Method
	/** OpenAPI form: `/api/v1/projects/{projectId}`. */
	path: string
	tag: Tag
	summary: string
	description?: string
	/** Served without a key (the OpenAPI document itself). */
	public?: boolean
	params?: P
	query?: Q
	/** A JSON body. */
	body?: B
	/** A multipart body, read by the handler itself (uploads): what the OpenAPI document says of it. */
	multipart?: { fields: Record<string, string>; required: string[] }
	success: { status: 200 | 201; description: string; schema: R }
	/** The error codes this operation answers besides the common ones (401, 429, 500…). */
	errors: ErrorCode[]
	handler: (context: Context<z.output<P>, z.output<Q>, z.output<B>>) => Promise<z.input<R>>
}

/** An operation with its types erased (lists, the router, the OpenAPI builder). */
export type Operation = OperationSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>

/** Declares an operation (types flow from the schemas into the handler). */
export function defineOperation<
	R extends z.ZodType,
	P extends z.ZodType = z.ZodType<Record<string, never>>,
	Q extends z.ZodType = z.ZodType<Record<string, never>>,
	B extends z.ZodType = z.ZodType<undefined>,
>(spec: OperationSpec<P, Q, B, R>): Operation {
	return spec as unknown as Operation
}

/**
 * The loader and action of an API route file: each dispatches on the method to the file's
 * operations (405 with `Allow` for any other), so every answer is the API's JSON.
 */
export function apiRoute(...operations: Operation[]) {
	const handle = ({ request, params }: LoaderFunctionArgs | ActionFunctionArgs) => {
		const method = request.method === 'HEAD' ? 'GET' : request.method
		const operation = operations.find((op) => op.method === method)
		if (!operation) return methodNotAllowed(request, operations)
		return runOperation(operation, request, params)
	}
	return { loader: handle, action: handle }
}

async function methodNotAllowed(request: Request, operations: Operation[]) {
	const allowed = [...new Set(operations.map((op) => op.method))].join(', ')
	const t = translator(await resolveLocale(request))
	return json(
		405,
		{ error: { code: 'method_not_allowed', message: t('api.error.methodNotAllowed', { method: request.method, allowed }) } },
		{
			Allow: allowed,
		},
	)
}

/** Runs one operation: key, rate limit, input validation, idempotency, handler, the JSON answer. */
export async function runOperation(operation: Operation, request: Request, rawParams: Record<string, string | undefined>) {
	const url = new URL(request.url)
	let locale: Locale | null = null
	const headers: Record<string, string> = {}
	let idempotency: { userId: string; key: string; hash: string | null } | null = null
	let fingerprint: MultipartFingerprint | null = null
	try {
		const user = operation.public ? null : await authenticate(request)
		locale = user?.locale ?? null
		if (user) Object.assign(headers, await rateLimit(user))
		const params = parse(operation.params, rawParams, 'path')
		const query = parse(operation.query, Object.fromEntries(url.searchParams), 'query')
		let body: unknown
		let rawBody: Uint8Array | null = null
		if (operation.method === 'POST' && !operation.multipart) {
			rawBody = await readJsonBody(request)
			body = parse(operation.body, decodeJson(rawBody, request), 'body')
		}
		let handlerRequest = request
		const key = operation.method === 'POST' ? idempotencyKeyOf(request) : null
		if (key && user) {
			if (rawBody) {
				const hash = requestHash(request.method, url, rawBody)
				const claim = await claimIdempotencyKey(user.id, key, hash)
				if (claim.state === 'in_flight') throw claim.requestHash && claim.requestHash !== hash ? mismatch() : inProgress()
				if (claim.state === 'done') {
					if (claim.requestHash !== hash) throw mismatch()
					return replay(claim, headers)
				}
				idempotency = { userId: user.id, key, hash }
			} else {
				const boundary = multipartBoundary(request.headers.get('content-type') ?? '')
				if (!boundary || !request.body) throw new ApiError('invalid_request', 'api.error.multipartExpected')
				const claim = await claimIdempotencyKey(user.id, key, null)
				if (claim.state === 'in_flight') throw inProgress()
				fingerprint = new MultipartFingerprint(request.method, url, boundary)
				if (claim.state === 'done') {
					// Only the bytes can say whether this is the same upload: read them, store nothing.
					const whole = await fingerprint.consume(request.body, multipartLimit())
					if (!whole || fingerprint.digest() !== claim.requestHash) throw mismatch()
					return replay(claim, headers)
				}
				idempotency = { userId: user.id, key, hash: null }
				handlerRequest = new Request(request.url, {
					method: request.method,
					headers: request.headers,
					body: fingerprint.wrap(request.body),
					signal: request.signal,
					duplex: 'half',
				} as RequestInit)
			}
		}
		const t = translator(locale ?? defaultLocale)
		const result = await operation.handler({ user: user!, params, query, body, request: handlerRequest, url, t })
		return await finish(operation.success.status, result, headers, idempotency, fingerprint)
	} catch (thrown) {
		const known = locale ?? (thrown instanceof ApiError ? thrown.options.locale : undefined)
		const t = translator(known ?? (await resolveLocale(request)))
		let status: number
		let body: unknown
		if (thrown instanceof ApiError) {
			status = thrown.status
			body = thrown.body(t)
			Object.assign(headers, thrown.options.headers)
		} else {
			log.error('api operation failed', { operation: operation.id, error: thrown })
			status = 500
			body = { error: { code: 'internal_error', message: t('api.error.internal') } }
		}
		// Errors raised before the key was claimed (validation, 409, 422 on the key) are not stored.
		return await finish(status, body, headers, idempotency, fingerprint)
	}
}

async function finish(
	status: number,
	body: unknown,
	headers: Record<string, string>,
	idempotency: { userId: string; key: string; hash: string | null } | null,
	fingerprint: MultipartFingerprint | null,
) {
	const text = JSON.stringify(body)
	if (idempotency) {
		if (status === 429) {
			// Refused before anything was done: a retry after Retry-After must really run.
			await releaseIdempotencyKey(idempotency.userId, idempotency.key)
		} else if (fingerprint && !(await fingerprint.drain(multipartLimit()))) {
			// The upload never arrived whole: the client saw no answer and nothing was decided on it.
			// (An upload's fingerprint covers the whole body, also what the handler did not need to read.)
			await releaseIdempotencyKey(idempotency.userId, idempotency.key)
		} else {
			const hash = idempotency.hash ?? fingerprint!.digest()
			await completeIdempotencyKey(idempotency.userId, idempotency.key, { hash, status, body: text })
		}
	}
	return json(status, text, headers)
}

function replay(claim: { status: number; body: string }, headers: Record<string, string>) {
	return json(claim.status, claim.body, { ...headers, 'Idempotent-Replayed': 'true' })
}

const mismatch = () => new ApiError('idempotency_mismatch', 'api.error.idempotencyMismatch')
const inProgress = () => new ApiError('idempotency_in_progress', 'api.error.idempotencyInProgress')

/** One hit on the key's window; the RateLimit-* headers of every answer, or a 429. */
async function rateLimit(user: ApiUser) {
	const limit = getEnv().API_RATE_LIMIT_PER_MINUTE
	const hit = await hitRateLimit(`api:${user.keyId}`, limit, RATE_LIMIT_WINDOW_SECONDS)
	const headers = {
		'RateLimit-Limit': String(limit),
		'RateLimit-Remaining': String(hit.remaining),
		'RateLimit-Reset': String(hit.retryAfterSeconds),
		'RateLimit-Policy': `${limit};w=${RATE_LIMIT_WINDOW_SECONDS}`,
	}
	if (!hit.allowed)
		throw new ApiError(
			'rate_limited',
			'api.error.rateLimited',
			{ limit, seconds: hit.retryAfterSeconds },
			{ headers: { ...headers, 'Retry-After': String(hit.retryAfterSeconds) } },
		)
	return headers
}

function parse<S extends z.ZodType | undefined>(schema: S, input: unknown, where: 'path' | 'query' | 'body') {
	if (!schema) return undefined
	const parsed = schema.safeParse(input)
	if (parsed.success) return parsed.data
	// A path that cannot name anything (not a uuid) is a resource that does not exist.
	if (where === 'path') throw new ApiError('not_found', 'api.error.notFound')
	throw validationError(parsed.error, where)
}

/** The body, whole, up to JSON_BODY_LIMIT_BYTES (413 beyond, without reading the rest into memory). */
async function readJsonBody(request: Request): Promise<Uint8Array> {
	const tooLarge = () => new ApiError('payload_too_large', 'api.error.tooLarge', { kb: JSON_BODY_LIMIT_BYTES / 1024 })
	const declared = Number(request.headers.get('content-length') ?? NaN)
	if (declared > JSON_BODY_LIMIT_BYTES) throw tooLarge()
	if (!request.body) return new Uint8Array()
	const chunks: Uint8Array[] = []
	let size = 0
	const reader = request.body.getReader()
	for (;;) {
		const { done, value } = await reader.read()
		if (done) break
		size += value.length
		if (size > JSON_BODY_LIMIT_BYTES) {
			await reader.cancel().catch(() => {})
			throw tooLarge()
		}
		chunks.push(value)
	}
	return Buffer.concat(chunks)
}

/** An empty body is `{}` (the schema then names what is missing); anything else must be JSON. */
function decodeJson(raw: Uint8Array, request: Request): unknown {
	if (raw.length === 0) return {}
	const type = request.headers.get('content-type') ?? ''
	if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) throw new ApiError('invalid_json', 'api.error.invalidJson')
	try {
		return JSON.parse(Buffer.from(raw).toString('utf8')) as unknown
	} catch {
		throw new ApiError('invalid_json', 'api.error.invalidJson')
	}
}

/** A JSON answer of the API (never cached: it is one user's data). */
export function json(status: number, body: unknown, headers: Record<string, string> = {}) {
	return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
		status,
		headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
	})
}
