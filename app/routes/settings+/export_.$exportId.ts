import { redirect, type LoaderFunctionArgs } from '@remix-run/node'
import { audit } from '#app/modules/audit/audit.server.ts'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { exportDownloadUrl } from '#app/modules/gdpr/export.server.ts'

// GET only (a resource route, the link of the "export ready" email): my own unexpired export,
// through a 5-minute storage URL; anything else is a 404. Each download goes to the security log.
export async function loader({ request, params }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const exportId = params.exportId ?? ''
	const url = await exportDownloadUrl(user.id, exportId)
	if (!url) throw new Response('Not found', { status: 404 })
	await audit('gdpr.export_downloaded', { userId: user.id, request, data: { exportId } })
	return redirect(url, { headers: { 'Cache-Control': 'private, no-store' } })
}
