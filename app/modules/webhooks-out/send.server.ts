import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import {
	AddressRefusedError,
	bareHostname,
	checkEndpointUrl,
	resolveTarget,
	type AddressPolicy,
	type ResolvedAddress,
	type Resolver,
} from './address.server.ts'
import { signatureHeader } from './sign.server.ts'

/** Why an attempt got no HTTP status (stored in the delivery log, translated on the page). */
export type AttemptError =
	'invalid_url' | 'address_refused' | 'dns_failed' | 'timeout' | 'connection_refused' | 'connection_failed' | 'tls_failed'

export type AttemptResult = { ok: boolean; statusCode: number | null; durationMs: number; error: AttemptError | null }

/** The whole attempt (resolution, connection, TLS, response) must fit in this. */
export const WEBHOOK_TIMEOUT_MS = 10_000
/** We read at most this much of a receiver's answer, then hang up. */
export const MAX_RESPONSE_BYTES = 64 * 1024

class DeadlineError extends Error {}

/** Answers every lookup with the address the guard checked: DNS is never asked again. */
function pinnedLookup(target: ResolvedAddress): LookupFunction {
	return ((_hostname, options, callback) => {
		if (options.all) callback(null, [{ address: target.address, family: target.family }])
		else callback(null, target.address, target.family)
	}) as LookupFunction
}

function networkError(error: NodeJS.ErrnoException): AttemptError {
	const code = error.code ?? ''
	if (code === 'ECONNREFUSED') return 'connection_refused'
	if (code === 'ETIMEDOUT') return 'timeout'
	if (/CERT|TLS|SSL|UNABLE_TO_|HOSTNAME_MISMATCH/.test(code)) return 'tls_failed'
	return 'connection_failed'
}

/**
 * POSTs one signed event body to `url`: the URL and every resolved address pass the SSRF guard
 * first, the connection goes to the checked address only, redirects are not followed, the
 * answer is read up to MAX_RESPONSE_BYTES, and the whole attempt is cut at `timeoutMs`.
 * Never throws: the outcome (2xx or not, status, duration, error) is the attempt's log line.
 */
export async function postSigned(input: {
	url: string
	secret: string
	eventId: string
	body: string
	policy: AddressPolicy
	timeoutMs?: number
	resolve?: Resolver
}): Promise<AttemptResult> {
	const started = performance.now()
	const timeoutMs = input.timeoutMs ?? WEBHOOK_TIMEOUT_MS
	const elapsed = () => Math.round(performance.now() - started)
	const outcome = (statusCode: number | null, error: AttemptError | null): AttemptResult => ({
		ok: statusCode !== null && statusCode >= 200 && statusCode < 300,
		statusCode,
		durationMs: elapsed(),
		error,
	})

	const checked = checkEndpointUrl(input.url, input.policy)
	if (!checked.ok)
		return outcome(null, checked.problem === 'private_address' || checked.problem === 'local_name' ? 'address_refused' : 'invalid_url')
	const url = new URL(checked.url)
	let target: ResolvedAddress
	let deadline: NodeJS.Timeout | undefined
	try {
		target = await Promise.race([
			resolveTarget(url.hostname, input.policy, input.resolve),
			new Promise<never>((_, reject) => (deadline = setTimeout(() => reject(new DeadlineError()), timeoutMs))),
		])
	} catch (error) {
		if (error instanceof AddressRefusedError) return outcome(null, 'address_refused')
		return outcome(null, error instanceof DeadlineError ? 'timeout' : 'dns_failed')
	} finally {
		clearTimeout(deadline)
	}

	const timestamp = Math.floor(Date.now() / 1000)
	const body = Buffer.from(input.body, 'utf8')
	const client = url.protocol === 'https:' ? https : http
	return new Promise<AttemptResult>((resolve) => {
		let settled = false
		let status: number | null = null
		const finish = (error: AttemptError | null) => {
			if (settled) return
			settled = true
			clearTimeout(timer)
			request.destroy()
			resolve(outcome(status, status === null ? error : null))
		}
		const request = client.request(
			{
				method: 'POST',
				hostname: bareHostname(url.hostname),
				port: url.port || undefined,
				path: `${url.pathname}${url.search}`,
				// A fresh connection each time: no pooled socket to an address checked for another call.
				agent: false,
				lookup: pinnedLookup(target),
				headers: {
					'Content-Type': 'application/json',
					'Content-Length': body.length,
					'User-Agent': 'Renzo-Webhooks/1.0',
					'Renzo-Webhook-Id': input.eventId,
					'Renzo-Webhook-Timestamp': String(timestamp),
					'Renzo-Signature': signatureHeader(input.secret, input.eventId, timestamp, input.body),
				},
			},
			(response) => {
				status = response.statusCode ?? null
				let received = 0
				response.on('data', (chunk: Buffer) => {
					received += chunk.length
					if (received > MAX_RESPONSE_BYTES) finish(null)
				})
				response.on('end', () => finish(null))
				response.on('error', () => finish(null))
				response.on('close', () => finish(null))
			},
		)
		const timer = setTimeout(() => finish('timeout'), Math.max(1, timeoutMs - elapsed()))
		request.on('error', (error) => finish(networkError(error)))
		request.end(body)
	})
}
