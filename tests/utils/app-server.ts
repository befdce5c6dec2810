import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { LoaderFunctionArgs } from '@remix-run/node'

type Handler = (args: LoaderFunctionArgs) => Promise<unknown>
type Route = { method: 'GET' | 'POST'; pattern: RegExp; handler: Handler }

/**
 * A real HTTP server on 127.0.0.1 that serves a few of the app's route modules (their loader or
 * action, as Remix would call them) — for tests where something outside the app must reach it
 * over HTTP: the Replicate fake fetching a signed image URL or posting a webhook. Use its `url`
 * as APP_URL.
 */
export async function startAppServer(routes: Route[]) {
	const server = http.createServer(async (req, res) => {
		try {
			const url = new URL(req.url ?? '/', `http://${req.headers.host}`)
			const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname))
			if (!route) {
				res.writeHead(404).end()
				return
			}
			const chunks: Buffer[] = []
			for await (const chunk of req) chunks.push(chunk as Buffer)
			const headers = new Headers()
			for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
			const request = new Request(url, {
				method: req.method,
				headers,
				...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
			})
			let response: unknown
			try {
				// What server.ts gives Remix (no page is rendered here, so the nonce is never used).
				response = await route.handler({ request, params: {}, context: { nonce: '', csrfToken: '' } })
			} catch (thrown) {
				response = thrown
			}
			if (!(response instanceof Response)) throw new Error(`route answered ${String(response)}`)
			res.writeHead(response.status, Object.fromEntries(response.headers))
			res.end(Buffer.from(await response.arrayBuffer()))
		} catch (error) {
			res.writeHead(500).end(error instanceof Error ? error.message : String(error))
		}
	})
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const { port } = server.address() as AddressInfo
	return {
		url: `http://127.0.0.1:${port}`,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	}
}
