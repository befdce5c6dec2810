import type { Readable } from 'node:stream'
import { handleUploadRequest } from '#app/modules/photos/upload-request.server.ts'
import { receiveReplicateWebhook } from '#app/modules/transformations/replicate-webhook.server.ts'

/**
 * The few POST endpoints the HTTP layer serves itself rather than through Remix (decision 014):
 * machine-speed paths where Remix's per-request work (fetch Request, route matching, web streams)
 * was a measured share of the cost. Each has a Remix route calling the same function, so both
 * ways answer the same. They run AFTER the HTTP layer's checks (CSRF, origin, sizes).
 *
 * `request`: URL, headers and abort signal, no body; `body`: the socket's stream, unread.
 * A thrown Response is the answer (as in Remix: requireUser's redirect, a 404).
 */
export type DirectRoute = {
	pattern: RegExp
	handle: (request: Request, body: Readable, params: string[]) => Promise<Response>
}

export const directRoutes: DirectRoute[] = [
	{
		pattern: /^\/projects\/([^/]+)\/upload$/,
		handle: (request, body, [projectId]) => handleUploadRequest(request, projectId ?? '', body),
	},
	{ pattern: /^\/webhooks\/replicate$/, handle: (request, body) => receiveReplicateWebhook(request, body) },
]
