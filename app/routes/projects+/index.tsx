import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { ProjectForm } from '#app/components/project-form.tsx'
import { ProjectList } from '#app/components/project-list.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { projectCovers } from '#app/modules/photos/photos.server.ts'
import { parseProjectForm } from '#app/modules/projects/form.server.ts'
import { createProject, listProjects } from '#app/modules/projects/projects.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction = () => [{ title: 'Projets — Renzo' }]

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const archived = new URL(request.url).searchParams.get('archived') === '1'
	const projects = await withUser(user.id, async (tx) =>
		projectCovers(tx, user.id, await listProjects(tx, user.id, { status: archived ? 'archived' : 'active' })),
	)
	return { projects, archived }
}

export async function action({ request }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const parsed = parseProjectForm(await request.formData())
	if (!parsed.ok) return data({ errors: parsed.errors }, { status: 400 })
	const project = await withUser(user.id, (tx) => createProject(tx, user.id, parsed.value))
	return redirectWithToast(`/projects/${project.id}`, { key: 'projects.created', type: 'success' })
}

export default function ProjectsPage() {
	const { projects, archived } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	return (
		<>
			<h1>{archived ? t('projects.archivedTitle') : t('projects.title')}</h1>
			{projects.length === 0 ? (
				<div className="empty">
					<h2>{t('projects.empty.title')}</h2>
					<p className="muted">{t('projects.empty.text')}</p>
				</div>
			) : (
				<ProjectList projects={projects} />
			)}
			<p>
				<Link to={archived ? '/projects' : '/projects?archived=1'}>{archived ? t('projects.showActive') : t('projects.showArchived')}</Link>
			</p>
			{archived ? null : (
				<section className="card" aria-labelledby="new-project">
					<h2 id="new-project">{t('projects.new')}</h2>
					<ProjectForm intent="create" submitLabel={t('projects.create')} errors={actionData?.errors} />
				</section>
			)}
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
