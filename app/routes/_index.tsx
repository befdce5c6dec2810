import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { ProjectList } from '#app/components/project-list.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { projectCovers } from '#app/modules/photos/photos.server.ts'
import { listProjects } from '#app/modules/projects/projects.server.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { withUser } from '#app/utils/db.server.ts'

export const meta: MetaFunction = () => [{ title: 'Accueil — Renzo' }]

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const projects = await withUser(user.id, async (tx) =>
		projectCovers(tx, user.id, await listProjects(tx, user.id, { take: 6, status: 'active' })),
	)
	return { balance: user.creditBalance, projects }
}

export default function Dashboard() {
	const { balance, projects } = useLoaderData<typeof loader>()
	const t = useT()
	return (
		<>
			<h1>{t('dashboard.title')}</h1>
			<section className="card" aria-labelledby="balance-title">
				<h2 id="balance-title" className="muted">
					{t('dashboard.balance')}
				</h2>
				<p className="stat" data-testid="balance">
					{t('dashboard.balanceValue', { count: balance })}
				</p>
				<Link to="/credits">{t('dashboard.seeCredits')}</Link>
			</section>
			<h2>{t('dashboard.recent')}</h2>
			{projects.length === 0 ? (
				<div className="empty">
					<h3>{t('dashboard.empty.title')}</h3>
					<p className="muted">{t('dashboard.empty.text')}</p>
					<Link to="/projects#new-project" className="button">
						{t('dashboard.createProject')}
					</Link>
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
