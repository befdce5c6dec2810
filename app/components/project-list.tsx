import { useT } from '#app/modules/i18n/use-t.ts'

type ProjectSummary = { id: string; name: string; address: string | null; status: string; _count: { photos: number } }

/** Cards of projects with their address and photo count. */
export function ProjectList({ projects }: { projects: ProjectSummary[] }) {
	const t = useT()
	return (
		<ul className="grid list">
			{projects.map((project) => (
				<li key={project.id} className="card">
					<h3>{project.name}</h3>
					{project.address ? <p className="muted">{project.address}</p> : null}
					<p>
						{t('projects.photos', { count: project._count.photos })}
						{project.status === 'archived' ? ` · ${t('projects.archived')}` : null}
					</p>
				</li>
			))}
		</ul>
	)
}
