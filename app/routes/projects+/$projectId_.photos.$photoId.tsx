import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { BeforeAfter } from '#app/components/before-after.tsx'
import { ConfirmDelete } from '#app/components/confirm-delete.tsx'
import { RateLimitAlert } from '#app/components/rate-limit-alert.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { TransformationForm } from '#app/components/transformation-form.tsx'
import { TransformationHistory } from '#app/components/transformation-history.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { getBalance } from '#app/modules/credits/ledger.server.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { deletePhoto, getPhoto } from '#app/modules/photos/photos.server.ts'
import { keepRetryAfter } from '#app/modules/security/rate-limit.server.ts'
import { offer } from '#app/modules/transformations/catalog.server.ts'
import { cancelFromForm, orderFromForm } from '#app/modules/transformations/form.server.ts'
import { listPhotoTransformations } from '#app/modules/transformations/transformations.server.ts'
import { disclosureDefault } from '#app/modules/transformations/preferences.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'
import { useProjectEvents } from '#app/utils/use-project-events.ts'

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.photo.originalFilename ?? 'Photo'} — Renzo` }]
export const headers = keepRetryAfter

export async function loader({ request, params }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const projectId = params.projectId ?? ''
	const photoId = params.photoId ?? ''
	const found = await withUser(user.id, async (tx) => {
		const photo = await getPhoto(tx, user.id, projectId, photoId)
		if (!photo) return null
		const [transformations, customStyles, balance, captionDefault] = await Promise.all([
			listPhotoTransformations(tx, user.id, projectId, photoId),
			tx.customStyle.findMany({ where: { userId: user.id }, select: { id: true, name: true }, orderBy: { name: 'asc' } }),
			getBalance(tx, user.id),
			disclosureDefault(tx, user.id),
		])
		return { photo, transformations, customStyles, balance, captionDefault }
	})
	if (!found) throw new Response('Not found', { status: 404 })
	const url = new URL(request.url)
	const succeeded = found.transformations.filter((item) => item.status === 'succeeded' && item.preview)
	// The result compared: the one asked for (?t=), else the newest finished one.
	const compared = succeeded.find((item) => item.id === url.searchParams.get('t')) ?? succeeded[0] ?? null
	const rerun = found.transformations.find((item) => item.id === url.searchParams.get('rerun'))
	return {
		projectId,
		...found,
		offer: offer(),
		retentionDays: getEnv().RETENTION_ARCHIVED_ORIGINALS_DAYS,
		compared,
		defaults: rerun ? { kind: rerun.kind, roomType: rerun.roomType, style: rerun.style, quality: rerun.quality } : undefined,
	}
}

export async function action({ request, params }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const form = await request.formData()
	const projectId = params.projectId ?? ''
	const photoId = params.photoId ?? ''
	const here = `/projects/${projectId}/photos/${photoId}`
	const intent = form.get('intent')
	if (intent === 'order') {
		// The photo of this page only, whatever the form carried.
		form.delete('photoId')
		form.append('photoId', photoId)
		return orderFromForm(user.id, projectId, form, here, request)
	}
	if (intent === 'cancel') return cancelFromForm(user.id, form, here)
	if (intent !== 'delete') throw new Response('Unknown intent', { status: 400 })
	if (form.get('confirm') !== 'yes') return data({ confirm: true }, { status: 400 })
	const deleted = await deletePhoto(user.id, projectId, photoId)
	if (!deleted) throw new Response('Not found', { status: 404 })
	return redirectWithToast(`/projects/${params.projectId}`, { key: 'photos.deleted', type: 'success' })
}

export default function PhotoPage() {
	const { projectId, photo, transformations, customStyles, balance, captionDefault, offer, retentionDays, compared, defaults } =
		useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	useProjectEvents(projectId)
	const photoPath = `/projects/${projectId}/photos/${photo.id}`
	return (
		<>
			<p>
				<Link to={`/projects/${projectId}`}>← {t('photos.back')}</Link>
			</p>
			<h1 className="photo-title">{photo.originalFilename}</h1>
			<RateLimitAlert actionData={actionData} />
			{compared?.preview && photo.preview ? (
				<section id="compare" aria-label={t('transformations.compare')}>
					<BeforeAfter
						before={{ ...photo.preview, src: photo.preview.url, alt: t('transformations.beforeAlt', { name: photo.originalFilename }) }}
						after={{
							...compared.preview,
							src: compared.preview.url,
							alt: t('transformations.resultAlt', { name: photo.originalFilename, kind: t(`transformations.kind.${compared.kind}`) }),
						}}
					/>
				</section>
			) : photo.preview ? (
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
				) : photo.originalPurgedAt ? (
					<p className="muted">{t('retention.originalPurged', { days: retentionDays })}</p>
				) : null}
			</div>
			{photo.status === 'ready' ? (
				<div id="order">
					<TransformationForm
						key={defaults ? JSON.stringify(defaults) : 'new'}
						id="order-form"
						title={t('transformations.title')}
						offer={offer}
						customStyles={customStyles}
						captionDefault={captionDefault}
						photoIds={[photo.id]}
						balance={balance}
						defaults={defaults}
					/>
				</div>
			) : null}
			<section aria-labelledby="history-title">
				<h2 id="history-title">{t('transformations.history')}</h2>
				<TransformationHistory
					items={transformations}
					selectedId={compared?.id ?? null}
					photoPath={photoPath}
					filename={photo.originalFilename}
				/>
			</section>
			<ConfirmDelete
				title={t('photos.delete')}
				confirmLabel={t('photos.deleteConfirmLabel')}
				open={Boolean(actionData && 'confirm' in actionData)}
			/>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
