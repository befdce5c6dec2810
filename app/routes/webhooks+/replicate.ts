import type { ActionFunctionArgs } from '@remix-run/node'
import { receiveReplicateWebhook } from '#app/modules/transformations/replicate-webhook.server.ts'
import { nodeBody } from '#app/utils/body.server.ts'

// In production the HTTP layer serves this POST itself (app/direct-routes.server.ts, decision
// 014); this route answers the same through the same function wherever Remix sees the request.
export async function action({ request }: ActionFunctionArgs) {
	return receiveReplicateWebhook(request, nodeBody(request))
}

export async function loader() {
	return new Response(null, { status: 405, headers: { Allow: 'POST' } })
}
