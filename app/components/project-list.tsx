import { Link } from '@remix-run/react'
import { useT } from '#app/modules/i18n/use-t.ts'

type ProjectSummary = {
	id: string
	name: string
	address: string | null
	status: string
	creditsUsed: number
	cover: { url: string } | null
	_count: { photos: number }
}

/** Cards of projects: cover photo, address, photo count and credits used. */
export function ProjectList({ projects }: { projects: ProjectSummary[] }) {
	const t = useT()
	return (
		<ul className="grid list">
			{projects.map((project) => (
				<li key={project.id} className="card project-card">
					{project.cover ? (
						<img src={project.cover.url} alt="" className="cover" loading="lazy" />
					) : (
						<div className="cover cover-empty" aria-hidden="true">
							{t('projects.noCover')}
						</div>
					)}
					<h3>
						<Link to={`/projects/${project.id}`} aria-label={t('projects.open', { name: project.name })}>
							{project.name}
						</Link>
					</h3>
					{project.address ? <p className="muted">{project.address}</p> : null}
					<p className="muted">
						{t('projects.photos', { count: project._count.photos })} · {t('projects.creditsUsed', { count: project.creditsUsed })}
						{project.status === 'archived' ? ` · ${t('projects.archived')}` : null}
					</p>
				</li>
			))}
		</ul>
	)
}
