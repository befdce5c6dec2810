import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { listActivity } from '#app/modules/audit/activity.server.ts'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { formatDateTime } from '#app/utils/format.ts'

export const meta: MetaFunction = () => [{ title: 'Journal de sécurité — Renzo' }]

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	return listActivity(user.id, { before: new URL(request.url).searchParams.get('before') })
}

export default function ActivityPage() {
	const { events, older, paged } = useLoaderData<typeof loader>()
	const t = useT()
	const locale = useLocale()
	return (
		<>
			<p>
				<Link to="/settings">← {t('account.title')}</Link>
			</p>
			<h1>{t('activity.title')}</h1>
			<p>{t('activity.intro')}</p>
			<p className="muted">{t('activity.ipHint')}</p>
			{events.length === 0 ? (
				<p className="empty">{t('activity.empty')}</p>
			) : (
				<section className="card">
					<ol className="list" aria-label={t('activity.list')}>
						{events.map((event) => (
							<li key={event.id}>
								<strong>{t(event.label)}</strong>
								<br />
								<span className="muted">
									<time dateTime={new Date(event.at).toISOString()}>{formatDateTime(event.at, locale)}</time>
									{event.fingerprint ? ` · ${t('activity.ip', { fingerprint: event.fingerprint })}` : null}
								</span>
								{event.details.map((detail) => (
									<span key={detail.key} className="muted">
										<br />
										{t(detail.key, detail.vars)}
									</span>
								))}
							</li>
						))}
					</ol>
				</section>
			)}
			<p className="actions">
				{paged ? <Link to="/settings/activity">{t('activity.newest')}</Link> : null}
				{older ? <Link to={`/settings/activity?${new URLSearchParams({ before: older })}`}>{t('activity.older')}</Link> : null}
			</p>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
