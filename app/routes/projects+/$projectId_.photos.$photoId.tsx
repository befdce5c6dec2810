import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { ConfirmDelete } from '#app/components/confirm-delete.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { deletePhoto, getPhoto } from '#app/modules/photos/photos.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.photo.originalFilename ?? 'Photo'} — Renzo` }]

export async function loader({ request, params }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const photo = await withUser(user.id, (tx) => getPhoto(tx, user.id, params.projectId ?? '', params.photoId ?? ''))
	if (!photo) throw new Response('Not found', { status: 404 })
	return { projectId: params.projectId!, photo }
}

export async function action({ request, params }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const form = await request.formData()
	if (form.get('intent') !== 'delete') throw new Response('Unknown intent', { status: 400 })
	if (form.get('confirm') !== 'yes') return data({ confirm: true }, { status: 400 })
	const deleted = await withUser(user.id, (tx) => deletePhoto(tx, user.id, params.projectId ?? '', params.photoId ?? ''))
	if (!deleted) throw new Response('Not found', { status: 404 })
	return redirectWithToast(`/projects/${params.projectId}`, { key: 'photos.deleted', type: 'success' })
}

export default function PhotoPage() {
	const { projectId, photo } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	return (
		<>
			<p>
				<Link to={`/projects/${projectId}`}>← {t('photos.back')}</Link>
			</p>
			<h1 className="photo-title">{photo.originalFilename}</h1>
			{photo.preview ? (
				<img
					className="preview"
					src={photo.preview.url}
					alt={photo.originalFilename}
					width={photo.preview.width}
					height={photo.preview.height}
				/>
			) : photo.status === 'error' ? (
				<p className="alert alert-error">{t('photos.error.processing')}</p>
			) : (
				<p className="muted">{t('photos.processingHint')}</p>
			)}
			<p className="muted">
				{photo.width && photo.height ? `${t('photos.dimensions', { width: photo.width, height: photo.height })} · ` : ''}
				{t('photos.size', { mb: (photo.sizeBytes / 1024 / 1024).toFixed(1) })}
			</p>
			<div className="actions">
				{photo.downloadUrl ? (
					<a className="button" href={photo.downloadUrl} download={photo.originalFilename}>
						{t('photos.download')}
					</a>
				) : null}
			</div>
			<ConfirmDelete title={t('photos.delete')} confirmLabel={t('photos.deleteConfirmLabel')} open={Boolean(actionData?.confirm)} />
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
