import { createReadableStreamFromReadable, type LoaderFunctionArgs } from '@remix-run/node'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { projectArchive } from '#app/modules/projects/archive.server.ts'
import { contentDisposition, PRIVATE_CACHE_CONTROL } from '#app/modules/storage/delivery.ts'

// GET only (a resource route): the whole project as one ZIP, streamed while the browser downloads.
export async function loader({ request, params }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const archive = await projectArchive(user.id, params.projectId ?? '')
	if (!archive) throw new Response('Not found', { status: 404 })
	const headers = {
		'Content-Type': 'application/zip',
		'Content-Disposition': contentDisposition(`${archive.projectName}.zip`),
		'Cache-Control': PRIVATE_CACHE_CONTROL,
	}
	// Download managers ask HEAD first: no reason to read the project from storage for it.
	if (request.method === 'HEAD') return new Response(null, { headers })
	return new Response(createReadableStreamFromReadable(archive.stream({ signal: request.signal })), { headers })
}
