// The baseline of the benches: a bare node:http server in its own process (its own event loop,
// like the app) that answers every request with the same bytes and content-type. Forked by
// bench/lib/harness.ts, which sends it { body (base64), contentType } and gets back { port }.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

type Setup = { body: string; contentType: string }

process.once('message', (message: Setup) => {
	const body = Buffer.from(message.body, 'base64')
	const headers = { 'Content-Type': message.contentType, 'Content-Length': String(body.length) }
	const server = http.createServer((_req, res) => {
		res.writeHead(200, headers)
		res.end(body)
	})
	server.keepAliveTimeout = 65_000
	server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }))
	const stop = () => {
		server.close(() => process.exit(0))
		server.closeAllConnections()
	}
	process.once('SIGTERM', stop)
	// The parent went away: do not outlive it.
	process.once('disconnect', stop)
})
