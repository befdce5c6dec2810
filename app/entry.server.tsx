import { PassThrough } from 'node:stream'
import { createReadableStreamFromReadable, type AppLoadContext, type EntryContext } from '@remix-run/node'
import { RemixServer } from '@remix-run/react'
import { isbot } from 'isbot'
import { renderToPipeableStream } from 'react-dom/server'
import { NonceProvider } from './components/nonce.tsx'
import { isDatabaseUnreachable } from './utils/db.server.ts'
import { log } from './utils/logger.server.ts'

// The endpoints the HTTP layer serves without Remix, exported from the server build so that they
// share its modules (one Prisma pool, one queue sender): see direct-routes.server.ts.
export { directRoutes } from './direct-routes.server.ts'

const ABORT_DELAY = 5_000
export const streamTimeout = ABORT_DELAY

/**
 * Errors of loaders and actions. While the database is away every request fails the same way
 * (and the HTTP layer answers 503): one line each, not the whole Prisma error. The rest as Remix
 * logs them by default.
 */
export function handleError(error: unknown, { request }: { request: Request }) {
	if (request.signal.aborted) return
	if (isDatabaseUnreachable(error)) return log.warn('database unreachable', { path: new URL(request.url).pathname })
	// Remix wraps some errors (no matching route) in an error response that carries the original.
	const wrapped = error && typeof error === 'object' && 'error' in error && error.error instanceof Error ? error.error : null
	console.error(wrapped ?? error)
}

export default function handleRequest(
	request: Request,
	responseStatusCode: number,
	responseHeaders: Headers,
	remixContext: EntryContext,
	loadContext: AppLoadContext,
) {
	// Bots get the whole document at once; browsers get it as soon as the shell is ready.
	const readyEvent = isbot(request.headers.get('user-agent') ?? '') ? 'onAllReady' : 'onShellReady'
	const nonce = loadContext.nonce ?? ''
	return new Promise<Response>((resolve, reject) => {
		let shellRendered = false
		const { pipe, abort } = renderToPipeableStream(
			<NonceProvider value={nonce}>
				<RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} nonce={nonce} />
			</NonceProvider>,
			{
				nonce,
				[readyEvent]() {
					shellRendered = true
					const body = new PassThrough()
					responseHeaders.set('Content-Type', 'text/html; charset=utf-8')
					if (!responseHeaders.has('Cache-Control')) responseHeaders.set('Cache-Control', 'private, no-store')
					resolve(new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }))
					pipe(body)
				},
				onShellError(error: unknown) {
					reject(error)
				},
				onError(error: unknown) {
					responseStatusCode = 500
					if (shellRendered) console.error(error)
				},
			},
		)
		setTimeout(abort, ABORT_DELAY + 1_000)
	})
}
