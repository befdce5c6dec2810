import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation, useRouteLoaderData } from '@remix-run/react'
import { useEffect, useRef, useState } from 'react'
import { ConfirmDelete } from '#app/components/confirm-delete.tsx'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { PhotoGrid } from '#app/components/photo-grid.tsx'
import { PhotoUploader } from '#app/components/photo-uploader.tsx'
import { ProjectForm } from '#app/components/project-form.tsx'
import { RateLimitAlert } from '#app/components/rate-limit-alert.tsx'
import { TransformationForm } from '#app/components/transformation-form.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { getBalance } from '#app/modules/credits/ledger.server.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { listProjectPhotos } from '#app/modules/photos/photos.server.ts'
import { parseProjectForm } from '#app/modules/projects/form.server.ts'
import { getProject, requestProjectDeletion, setArchived, updateProject } from '#app/modules/projects/projects.server.ts'
import { keepRetryAfter } from '#app/modules/security/rate-limit.server.ts'
import { offer } from '#app/modules/transformations/catalog.server.ts'
import { cancelFromForm, orderFromForm } from '#app/modules/transformations/form.server.ts'
import { pendingByPhoto } from '#app/modules/transformations/transformations.server.ts'
import { disclosureDefault } from '#app/modules/transformations/preferences.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'
import { useProjectEvents } from '#app/utils/use-project-events.ts'

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.project.name ?? 'Projet'} — Renzo` }]
export const headers = keepRetryAfter

export async function loader({ request, params }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const result = await withUser(user.id, async (tx) => {
		const project = await getProject(tx, user.id, params.projectId ?? '')
		if (!project) return null
		const [photos, pending, customStyles, balance, captionDefault] = await Promise.all([
			listProjectPhotos(tx, user.id, project.id),
			pendingByPhoto(tx, user.id, project.id),
			tx.customStyle.findMany({ where: { userId: user.id }, select: { id: true, name: true }, orderBy: { name: 'asc' } }),
			getBalance(tx, user.id),
			disclosureDefault(tx, user.id),
		])
		return { project, photos, pending: Object.fromEntries(pending), customStyles, balance, captionDefault }
	})
	if (!result) throw new Response('Not found', { status: 404 })
	return { ...result, offer: offer(), maxMb: Math.round(getEnv().UPLOAD_MAX_BYTES / 1024 / 1024) }
}

export async function action({ request, params }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const projectId = params.projectId ?? ''
	const form = await request.formData()
	const intent = form.get('intent')
	const here = `/projects/${projectId}`
	if (intent === 'order') return orderFromForm(user.id, projectId, form, here, request)
	if (intent === 'cancel') return cancelFromForm(user.id, form, here)
	if (intent === 'update') {
		const parsed = parseProjectForm(form)
		if (!parsed.ok) return data({ errors: parsed.errors }, { status: 400 })
		if (!(await withUser(user.id, (tx) => updateProject(tx, user.id, projectId, parsed.value))))
			throw new Response('Not found', { status: 404 })
		return redirectWithToast(here, { key: 'projects.saved', type: 'success' })
	}
	if (intent === 'archive' || intent === 'unarchive') {
		const archived = intent === 'archive'
		if (!(await withUser(user.id, (tx) => setArchived(tx, user.id, projectId, archived)))) throw new Response('Not found', { status: 404 })
		return redirectWithToast(here, { key: archived ? 'projects.archivedToast' : 'projects.unarchivedToast', type: 'success' })
	}
	if (intent === 'delete') {
		if (form.get('confirm') !== 'yes') return data({ errors: {}, confirm: true }, { status: 400 })
		if (!(await withUser(user.id, (tx) => requestProjectDeletion(tx, user.id, projectId)))) throw new Response('Not found', { status: 404 })
		return redirectWithToast('/projects', { key: 'projects.deleted', type: 'success' })
	}
	throw new Response('Unknown intent', { status: 400 })
}

export default function ProjectPage() {
	const { project, photos, pending, customStyles, balance, captionDefault, offer, maxMb } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const root = useRouteLoaderData('root') as { csrfToken: string } | undefined
	const t = useT()
	useProjectEvents(project.id)
	const [selected, setSelected] = useState(0)
	const ready = photos.some((photo) => photo.status === 'ready')
	const countSelected = () => setSelected(document.querySelectorAll('input[name="photoId"][form="batch-order"]:checked').length)
	// Once an order went through, the selection is cleared: a second click must not order again.
	const navigation = useNavigation()
	const ordering = useRef(false)
	useEffect(() => {
		if (navigation.state === 'submitting' && navigation.formData?.get('intent') === 'order') ordering.current = true
		if (navigation.state === 'idle' && ordering.current) {
			ordering.current = false
			for (const box of document.querySelectorAll<HTMLInputElement>('input[name="photoId"][form="batch-order"]')) box.checked = false
			setSelected(0)
		}
	}, [navigation.state, navigation.formData])
	return (
		<>
			<p>
				<Link to="/projects">← {t('projects.back')}</Link>
			</p>
			<h1>{project.name}</h1>
			<RateLimitAlert actionData={actionData} />
			<p className="muted">
				{[project.address, project.reference].filter(Boolean).join(' · ')}
				{project.address || project.reference ? ' · ' : ''}
				{t('projects.photos', { count: photos.length })} · {t('projects.creditsUsed', { count: project.creditsUsed })}
				{project.status === 'archived' ? ` · ${t('projects.archived')}` : ''}
			</p>
			<PhotoUploader action={`/projects/${project.id}/upload`} csrfToken={root?.csrfToken ?? ''} maxMb={maxMb} />
			<h2>{t('photos.title')}</h2>
			{photos.length === 0 ? (
				<p className="empty">{t('photos.empty', { mb: maxMb })}</p>
			) : (
				<div onChange={countSelected}>
					<PhotoGrid projectId={project.id} photos={photos} selectForm={ready ? 'batch-order' : undefined} pending={pending} />
				</div>
			)}
			{photos.length > 0 ? (
				<p className="actions">
					<a className="button secondary" href={`/projects/${project.id}/zip`} download>
						{t('archive.download')}
					</a>
				</p>
			) : null}
			{ready ? (
				<>
					<p className="muted">{t('transformations.selectPhotos')}</p>
					<TransformationForm
						id="batch-order"
						title={t('transformations.titleSelection')}
						offer={offer}
						customStyles={customStyles}
						captionDefault={captionDefault}
						selectedCount={selected}
						balance={balance}
					/>
				</>
			) : null}
			<details className="card" open={Boolean(actionData && 'errors' in actionData && Object.keys(actionData.errors).length)}>
				<summary>{t('projects.edit')}</summary>
				<ProjectForm
					intent="update"
					submitLabel={t('projects.save')}
					defaults={project}
					errors={actionData && 'errors' in actionData ? actionData.errors : undefined}
				/>
			</details>
			<div className="actions">
				<Form method="post">
					<CsrfInput />
					<button type="submit" name="intent" value={project.status === 'archived' ? 'unarchive' : 'archive'} className="secondary">
						{project.status === 'archived' ? t('projects.unarchive') : t('projects.archive')}
					</button>
				</Form>
			</div>
			<ConfirmDelete
				title={t('projects.delete')}
				question={t('projects.deleteConfirm')}
				confirmLabel={t('projects.deleteConfirmLabel')}
				open={Boolean(actionData && 'confirm' in actionData)}
			/>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
