import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { listMovements } from '#app/modules/credits/ledger.server.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { withUser } from '#app/utils/db.server.ts'
import { formatDateTime, formatDelta } from '#app/utils/format.ts'

export const meta: MetaFunction = () => [{ title: 'Crédits — Renzo' }]

const PAGE = 25

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const cursor = new URL(request.url).searchParams.get('before')
	const before = cursor && /^\d{1,18}$/.test(cursor) ? BigInt(cursor) : undefined
	const rows = await withUser(user.id, (tx) => listMovements(tx, user.id, { take: PAGE + 1, before }))
	const page = rows.slice(0, PAGE).map(({ seq: _seq, ...row }) => row)
	return {
		balance: user.creditBalance,
		movements: page,
		older: rows.length > PAGE ? String(rows[PAGE - 1]!.seq) : null,
		paged: Boolean(before),
	}
}

export default function CreditsPage() {
	const { balance, movements, older, paged } = useLoaderData<typeof loader>()
	const t = useT()
	const locale = useLocale()
	return (
		<>
			<h1>{t('credits.title')}</h1>
			<section className="card">
				<h2 className="muted">{t('credits.balance')}</h2>
				<p className="stat">{t('dashboard.balanceValue', { count: balance })}</p>
			</section>
			<h2>{t('credits.history')}</h2>
			{movements.length === 0 ? (
				<p className="empty">{t('credits.empty')}</p>
			) : (
				<table className="responsive">
					<thead>
						<tr>
							<th scope="col">{t('credits.col.date')}</th>
							<th scope="col">{t('credits.col.what')}</th>
							<th scope="col" className="num">
								{t('credits.col.delta')}
							</th>
							<th scope="col" className="num">
								{t('credits.col.after')}
							</th>
						</tr>
					</thead>
					<tbody>
						{movements.map((m) => (
							<tr key={m.id}>
								<td data-label={t('credits.col.date')}>{formatDateTime(m.createdAt, locale)}</td>
								<td data-label={t('credits.col.what')}>{t(`credits.reason.${m.reason}`)}</td>
								<td data-label={t('credits.col.delta')} className={`num ${m.delta > 0 ? 'delta-plus' : m.delta < 0 ? 'delta-minus' : ''}`}>
									{formatDelta(m.delta, locale)}
								</td>
								<td data-label={t('credits.col.after')} className="num">
									{m.balanceAfter}
								</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
			<p className="actions">
				{paged ? <Link to="/credits">{t('credits.newest')}</Link> : null}
				{older ? <Link to={`/credits?${new URLSearchParams({ before: older })}`}>{t('credits.older')}</Link> : null}
			</p>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
