import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { listInvoices } from '#app/modules/billing/checkout.server.ts'
import { isBillingConfigured } from '#app/modules/billing/stripe.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { formatDate, formatMoney } from '#app/utils/format.ts'
import { log } from '#app/utils/logger.server.ts'

export const meta: MetaFunction = () => [{ title: 'Factures — Renzo' }]

/** The user's invoices, read from Stripe (Stripe is the record; we keep none). */
export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	if (!isBillingConfigured()) return { configured: false as const, invoices: [], next: null, failed: false }
	const after = new URL(request.url).searchParams.get('after')
	try {
		const page = await listInvoices(user.id, after && /^in_[A-Za-z0-9]{1,100}$/.test(after) ? { startingAfter: after } : {})
		return {
			configured: true as const,
			invoices: page.invoices,
			next: page.hasMore ? (page.invoices.at(-1)?.id ?? null) : null,
			failed: false,
		}
	} catch (error) {
		log.error('stripe invoices failed', { error })
		return { configured: true as const, invoices: [], next: null, failed: true }
	}
}

export default function InvoicesPage() {
	const { configured, invoices, next, failed } = useLoaderData<typeof loader>()
	const t = useT()
	const locale = useLocale()
	return (
		<>
			<p>
				<Link to="/credits">← {t('billing.thanks.back')}</Link>
			</p>
			<h1>{t('billing.invoices.title')}</h1>
			{!configured ? (
				<div className="alert">
					<p>{t('billing.notConfigured')}</p>
					<p className="muted">{t('billing.notConfiguredHow')}</p>
				</div>
			) : failed ? (
				<p className="alert alert-error">{t('billing.error.unavailable')}</p>
			) : invoices.length === 0 ? (
				<p className="empty">{t('billing.invoices.empty')}</p>
			) : (
				<table className="responsive">
					<thead>
						<tr>
							<th scope="col">{t('billing.invoices.number')}</th>
							<th scope="col">{t('billing.invoices.date')}</th>
							<th scope="col" className="num">
								{t('billing.invoices.amount')}
							</th>
							<th scope="col">{t('billing.invoices.status')}</th>
							<th scope="col">{t('billing.invoices.pdf')}</th>
						</tr>
					</thead>
					<tbody>
						{invoices.map((invoice) => (
							<tr key={invoice.id}>
								<td data-label={t('billing.invoices.number')}>{invoice.number ?? '—'}</td>
								<td data-label={t('billing.invoices.date')}>{formatDate(invoice.created * 1000, locale)}</td>
								<td data-label={t('billing.invoices.amount')} className="num">
									{formatMoney(invoice.amountCents, invoice.currency, locale)}
								</td>
								<td data-label={t('billing.invoices.status')}>
									{invoice.status ? t(`billing.invoices.status.${invoice.status}` as MessageKey) : '—'}
								</td>
								<td data-label={t('billing.invoices.pdf')}>
									{invoice.pdf ? (
										<a
											href={invoice.pdf}
											rel="noreferrer"
											aria-label={t('billing.invoices.download', { number: invoice.number ?? invoice.id })}
										>
											PDF
										</a>
									) : (
										'—'
									)}
								</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
			{next ? (
				<p>
					<Link to={`/credits/invoices?${new URLSearchParams({ after: next })}`}>{t('billing.invoices.more')}</Link>
				</p>
			) : null}
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
