import { redirect, type LoaderFunctionArgs } from '@remix-run/node'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { exportDownloadUrl } from '#app/modules/gdpr/export.server.ts'

// GET only (a resource route, the link of the "export ready" email): my own unexpired export,
// through a 5-minute storage URL; anything else is a 404.
export async function loader({ request, params }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const url = await exportDownloadUrl(user.id, params.exportId ?? '')
	if (!url) throw new Response('Not found', { status: 404 })
	return redirect(url, { headers: { 'Cache-Control': 'private, no-store' } })
}
