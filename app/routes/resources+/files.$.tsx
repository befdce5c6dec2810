import { createReadableStreamFromReadable, type LoaderFunctionArgs } from '@remix-run/node'
import { signedFile } from '#app/modules/storage/serve-file.server.ts'

/**
 * Files of the local storage driver behind a signed URL (see signedFile). In production and under
 * server.ts the HTTP layer answers these paths before Remix (createHttpApp); this route is the
 * same answer for anything that reaches Remix directly.
 */
export async function loader({ request }: LoaderFunctionArgs) {
	const file = await signedFile(new URL(request.url), request.method)
	const body = file.body === null || typeof file.body === 'string' ? file.body : createReadableStreamFromReadable(file.body)
	const response = new Response(body, { status: file.status, headers: file.headers })
	if (!response.ok) throw response
	return response
}
