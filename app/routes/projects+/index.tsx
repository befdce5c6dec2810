import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { ProjectList } from '#app/components/project-list.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { listProjects } from '#app/modules/projects/projects.server.ts'
import { withUser } from '#app/utils/db.server.ts'

export const meta: MetaFunction = () => [{ title: 'Projets — Renzo' }]

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	return { projects: await withUser(user.id, (tx) => listProjects(tx, user.id)) }
}

export default function ProjectsPage() {
	const { projects } = useLoaderData<typeof loader>()
	const t = useT()
	return (
		<>
			<h1>{t('projects.title')}</h1>
			{projects.length === 0 ? (
				<div className="empty">
					<h2>{t('projects.empty.title')}</h2>
					<p className="muted">{t('projects.empty.text')}</p>
				</div>
			) : (
				<ProjectList projects={projects} />
			)}
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
