import type { LoaderFunctionArgs } from '@remix-run/node'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { subscribeProject, type ProjectEvent } from '#app/modules/events/project-events.server.ts'
import { findProjectId } from '#app/modules/projects/projects.server.ts'
import { withUser } from '#app/utils/db.server.ts'

/** A comment line every so often keeps proxies (Fly, Cloudflare) from closing an idle stream. */
const HEARTBEAT_MS = 20_000

/**
 * Server-sent events of one project (transformation and photo status changes), for its owner
 * only: another user's or an unknown project is a 404 before anything is streamed. Events carry
 * ids and statuses; the page re-reads its own data. Without JavaScript nothing uses this.
 */
export async function loader({ request, params }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const projectId = await withUser(user.id, (tx) => findProjectId(tx, user.id, params.projectId ?? ''))
	if (!projectId) throw new Response('Not found', { status: 404 })

	const encoder = new TextEncoder()
	let cleanup = () => {}
	const stream = new ReadableStream<Uint8Array>({
		async start(controller) {
			let open = true
			const send = (text: string) => {
				if (!open) return
				try {
					controller.enqueue(encoder.encode(text))
				} catch {
					close()
				}
			}
			const onEvent = (event: ProjectEvent) =>
				send(`event: ${event.type}\ndata: ${JSON.stringify({ id: event.id, status: event.status })}\n\n`)
			const unsubscribe = await subscribeProject(projectId, onEvent, () => close())
			const heartbeat = setInterval(() => send(': ping\n\n'), HEARTBEAT_MS)
			const close = () => {
				if (!open) return
				open = false
				clearInterval(heartbeat)
				unsubscribe()
				try {
					controller.close()
				} catch {
					// already closed by the client
				}
			}
			cleanup = close
			request.signal.addEventListener('abort', close, { once: true })
			if (request.signal.aborted) return close()
			// The browser reconnects after 3 s if the stream drops; "ready" tells the page to re-read
			// once, for what changed before it subscribed.
			send('retry: 3000\nevent: ready\ndata: {}\n\n')
		},
		cancel() {
			cleanup()
		},
	})
	return new Response(stream, {
		headers: {
			'Content-Type': 'text/event-stream; charset=utf-8',
			'Cache-Control': 'no-store, no-transform',
			Connection: 'keep-alive',
			'X-Accel-Buffering': 'no',
		},
	})
}
