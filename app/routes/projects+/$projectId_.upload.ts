import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node'
import { handleUploadRequest } from '#app/modules/photos/upload-request.server.ts'
import { nodeBody } from '#app/utils/body.server.ts'

// In production the HTTP layer serves this POST itself, with the socket's stream as the body
// (app/direct-routes.server.ts, decision 014); this route answers the same through the same
// function wherever Remix sees the request (development, tests calling it directly).
export async function loader({ params }: LoaderFunctionArgs) {
	// A reload after a plain form post: back to the project.
	return redirect(`/projects/${params.projectId}`)
}

export async function action({ request, params }: ActionFunctionArgs) {
	return handleUploadRequest(request, params.projectId ?? '', nodeBody(request))
}
