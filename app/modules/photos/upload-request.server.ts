import type { Readable } from 'node:stream'
import { z } from 'zod'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { resolveLocale, translator } from '#app/modules/i18n/locale.server.ts'
import { enforceRateLimit, rateLimitedResponse, RateLimitError } from '#app/modules/security/rate-limit.server.ts'
import { discardStream } from '#app/utils/body.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'
import { receiveUploads, UploadNotAdmitted, UploadProjectNotFound, type UploadResult } from './upload.server.ts'

/**
 * POST /projects/:projectId/upload. The JavaScript uploader sends one file per request and reads
 * JSON; a plain form (no JavaScript) posts here too and is redirected back to the project with a
 * message. `body` is the request's body as a Node stream (the HTTP layer hands the socket's
 * stream over as it is, decision 014); `request` gives the headers, URL and abort signal.
 */
export async function handleUploadRequest(request: Request, projectId: string, body: Readable | null): Promise<Response> {
	const user = await requireUser(request)
	// Not an id: nobody's project (and no statement casts it).
	if (!z.uuid().safeParse(projectId).success) throw notFound()
	// Counted while the first bytes already flow (one round trip off the upload's path): no row is
	// written before it says yes, and a refused upload stores nothing (receiveUploads' `admitted`).
	const counted = enforceRateLimit('uploads', user.id, { userId: user.id, request }).then(
		() => null,
		(error: unknown) => {
			if (error instanceof RateLimitError) return error
			throw error
		},
	)
	// The project (the user's, live) and their usage come with the first file's row (receiveUploads):
	// no transaction of their own before the body. Not theirs: nothing kept, 404.
	let results: UploadResult[] = []
	try {
		results = await receiveUploads(request, body, {
			userId: user.id,
			projectId,
			admitted: counted.then(
				(limited) => limited === null,
				() => false,
			),
		})
	} catch (error) {
		if (error instanceof UploadProjectNotFound) throw notFound()
		if (!(error instanceof UploadNotAdmitted)) throw error
	}
	const limited = await counted
	if (limited) {
		// The browser may still be sending the file: read it to the bin (bounded), so it gets to see this answer.
		if (body) discardStream(body, getEnv().UPLOAD_MAX_BYTES + 1024 * 1024)
		return rateLimitedResponse(request, limited, await resolveLocale(request, user.locale), { back: `/projects/${projectId}` })
	}
	const t = translator(await resolveLocale(request, user.locale))
	if (request.headers.get('accept')?.includes('application/json')) {
		const files = results.map((r) =>
			r.ok ? { name: r.name, ok: true, photoId: r.photoId } : { name: r.name, ok: false, message: t(r.error, r.vars) },
		)
		return Response.json({ files }, { status: results.length > 0 && results.every((r) => !r.ok) ? 422 : 200 })
	}
	const back = `/projects/${projectId}`
	if (results.length === 0) return redirectWithToast(back, { key: 'photos.error.noFile', type: 'error' })
	const failed = results.find((r) => !r.ok)
	if (failed && !failed.ok) return redirectWithToast(back, { key: failed.error, type: 'error', vars: failed.vars })
	return redirectWithToast(back, { key: 'photos.uploadedMany', type: 'success', vars: { count: results.length } })
}

function notFound() {
	return new Response('Not found', { status: 404 })
}
