import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

export type Received = { headers: http.IncomingHttpHeaders; rawBody: Buffer; path: string; method: string }

/**
 * A customer's webhook receiver, for the outgoing-webhook tests: a real HTTP server on 127.0.0.1
 * (never any other address) that records every request and answers with the next status of
 * `answers` (then 204). `close()` then `restart()` on the same port simulates a receiver that
 * was down and came back.
 */
export async function startWebhookReceiver(options: { port?: number } = {}) {
	const received: Received[] = []
	const answers: number[] = []
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = []
		req.on('data', (chunk: Buffer) => chunks.push(chunk))
		req.on('end', () => {
			received.push({ headers: req.headers, rawBody: Buffer.concat(chunks), path: req.url ?? '/', method: req.method ?? '' })
			res.writeHead(answers.shift() ?? 204).end()
		})
	})
	const listen = (port: number) =>
		new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()))
	await listen(options.port ?? 0)
	const { port } = server.address() as AddressInfo
	return {
		port,
		url: `http://127.0.0.1:${port}/hooks/renzo`,
		received,
		/** The statuses of the next answers, in order. */
		answer: (...statuses: number[]) => answers.push(...statuses),
		close: () =>
			new Promise<void>((resolve) => {
				server.close(() => resolve())
				server.closeAllConnections()
			}),
		restart: () => listen(port),
	}
}
export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>

/** The signature check exactly as the receiver guide (README.fr.md) tells customers to write it. */
export type DocumentedVerifier = (
	rawBody: Buffer | string,
	headers: http.IncomingHttpHeaders,
	secret: string,
	toleranceSeconds?: number,
) => boolean

/**
 * Loads the verification snippet of app/modules/webhooks-out/README.fr.md (between the
 * verify:start/end markers) as a module: the tests run the very code the guide shows.
 */
export async function documentedVerifier(): Promise<DocumentedVerifier> {
	const guide = fs.readFileSync(path.resolve(import.meta.dirname, '../../app/modules/webhooks-out/README.fr.md'), 'utf8')
	const code = /<!-- verify:start -->\s*```js\n([\s\S]*?)```\s*<!-- verify:end -->/.exec(guide)?.[1]
	if (!code) throw new Error('the receiver guide has no verification snippet')
	const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-verify-')), 'verify.mjs')
	fs.writeFileSync(file, code)
	const module = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as { verifyRenzoWebhook?: DocumentedVerifier }
	if (typeof module.verifyRenzoWebhook !== 'function') throw new Error('the snippet does not export verifyRenzoWebhook')
	return module.verifyRenzoWebhook
}
