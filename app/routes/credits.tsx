import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { checkoutPack, checkoutPlan, portalUrl, UnknownOfferError } from '#app/modules/billing/checkout.server.ts'
import { getOffer } from '#app/modules/billing/offer.server.ts'
import { isBillingConfigured } from '#app/modules/billing/stripe.server.ts'
import { listMovements } from '#app/modules/credits/ledger.server.ts'
import { isLocale } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { withUser } from '#app/utils/db.server.ts'
import { formatDate, formatDateTime, formatDelta, formatMoney } from '#app/utils/format.ts'
import { log } from '#app/utils/logger.server.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction = () => [{ title: 'Crédits — Renzo' }]

const PAGE = 25

/** Where a movement's reference leads: the transformation's photo, or the invoices. */
async function linksFor(userId: string, references: (string | null)[]) {
	const ids = references.flatMap((ref) => (ref?.startsWith('transformation:') ? [ref.slice('transformation:'.length)] : []))
	const rows = ids.length
		? await withUser(userId, (tx) =>
				tx.transformation.findMany({ where: { userId, id: { in: ids } }, select: { id: true, projectId: true, photoId: true } }),
			)
		: []
	const photos = new Map(rows.map((row) => [row.id, `/projects/${row.projectId}/photos/${row.photoId}?t=${row.id}`]))
	return (reference: string | null): { to: string; kind: 'transformation' | 'invoice' } | null => {
		if (!reference) return null
		if (reference.startsWith('transformation:')) {
			const to = photos.get(reference.slice('transformation:'.length))
			return to ? { to, kind: 'transformation' } : null
		}
		if (reference.startsWith('invoice:') || reference.startsWith('purchase:')) return { to: '/credits/invoices', kind: 'invoice' }
		return null
	}
}

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const url = new URL(request.url)
	const cursor = url.searchParams.get('before')
	const before = cursor && /^\d{1,18}$/.test(cursor) ? BigInt(cursor) : undefined
	const [rows, subscription] = await withUser(user.id, (tx) =>
		Promise.all([
			listMovements(tx, user.id, { take: PAGE + 1, before }),
			tx.subscription.findFirst({
				where: { userId: user.id, status: { in: ['active', 'trialing', 'past_due'] } },
				orderBy: { stripeEventAt: 'desc' },
				select: { planId: true, status: true, cancelAtPeriodEnd: true, currentPeriodEnd: true },
			}),
		]),
	)
	const link = await linksFor(
		user.id,
		rows.map((row) => row.reference),
	)
	const page = rows.slice(0, PAGE).map(({ seq: _seq, reference, ...row }) => ({ ...row, link: link(reference) }))
	const configured = isBillingConfigured()
	const offer = getOffer()
	return {
		balance: user.creditBalance,
		movements: page,
		older: rows.length > PAGE ? String(rows[PAGE - 1]!.seq) : null,
		paged: Boolean(before),
		configured,
		cancelled: url.searchParams.has('annule'),
		offer,
		subscription: subscription
			? {
					...subscription,
					name: offer.plans.find((plan) => plan.id === subscription.planId)?.name ?? { fr: subscription.planId, en: subscription.planId },
				}
			: null,
	}
}

export async function action({ request }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const form = await request.formData()
	if (!isBillingConfigured()) return redirectWithToast('/credits', { key: 'billing.notConfigured', type: 'error' })
	const buyer = { id: user.id, email: user.email, locale: isLocale(user.locale) ? user.locale : 'fr' }
	const intent = form.get('intent')
	try {
		// Stripe's pages are on another origin: a plain 303 to them (no client-side navigation).
		if (intent === 'buy-pack') return redirect(await checkoutPack(buyer, String(form.get('packId') ?? '')), 303)
		if (intent === 'buy-plan') return redirect(await checkoutPlan(buyer, String(form.get('planId') ?? '')), 303)
		if (intent === 'portal') return redirect(await portalUrl(buyer), 303)
	} catch (error) {
		if (error instanceof UnknownOfferError) return redirectWithToast('/credits', { key: 'billing.error.unknownOffer', type: 'error' })
		log.error('stripe call failed', { error })
		return redirectWithToast('/credits', { key: 'billing.error.unavailable', type: 'error' })
	}
	throw new Response('Unknown intent', { status: 400 })
}

export default function CreditsPage() {
	const { balance, movements, older, paged, configured, cancelled, offer, subscription } = useLoaderData<typeof loader>()
	const t = useT()
	const locale = useLocale()
	return (
		<>
			<h1>{t('credits.title')}</h1>
			<section className="card">
				<h2 className="muted">{t('credits.balance')}</h2>
				<p className="stat">{t('dashboard.balanceValue', { count: balance })}</p>
				{subscription ? (
					<p>
						{t('billing.currentPlan', { name: subscription.name[locale], status: subscription.status })}
						{subscription.cancelAtPeriodEnd && subscription.currentPeriodEnd
							? ` · ${t('billing.cancelAtPeriodEnd', { date: formatDate(subscription.currentPeriodEnd, locale) })}`
							: ''}
					</p>
				) : null}
			</section>
			{cancelled ? <p className="alert">{t('billing.cancelled')}</p> : null}
			<section aria-labelledby="buy-title">
				<h2 id="buy-title">{t('billing.buy')}</h2>
				{!configured ? (
					<div className="alert">
						<p>{t('billing.notConfigured')}</p>
						<p className="muted">{t('billing.notConfiguredHow')}</p>
					</div>
				) : (
					<>
						<h3>{t('billing.packs')}</h3>
						<p className="muted">{t('billing.packsHint')}</p>
						<ul className="offer-grid list">
							{offer.packs.map((pack) => (
								<li key={pack.id} className="card offer">
									<h4>{pack.name[locale]}</h4>
									<p className="stat">{t('billing.packCredits', { count: pack.credits })}</p>
									<p>{t('billing.price', { price: formatMoney(pack.priceCents, offer.currency, locale) })}</p>
									<Form method="post">
										<CsrfInput />
										<input type="hidden" name="packId" value={pack.id} />
										<button type="submit" name="intent" value="buy-pack" aria-label={t('billing.buyPack', { name: pack.name[locale] })}>
											{t('billing.buy')}
										</button>
									</Form>
								</li>
							))}
						</ul>
						<h3>{t('billing.plans')}</h3>
						<p className="muted">{t('billing.plansHint')}</p>
						<ul className="offer-grid list">
							{offer.plans.map((plan) => (
								<li key={plan.id} className="card offer">
									<h4>{plan.name[locale]}</h4>
									<p className="stat">{t('billing.planCredits', { count: plan.creditsPerMonth })}</p>
									<p>{t('billing.pricePerMonth', { price: formatMoney(plan.priceCents, offer.currency, locale) })}</p>
									<Form method="post">
										<CsrfInput />
										<input type="hidden" name="planId" value={plan.id} />
										<button type="submit" name="intent" value="buy-plan" className="secondary">
											{t('billing.subscribe', { name: plan.name[locale] })}
										</button>
									</Form>
								</li>
							))}
						</ul>
						<div className="actions">
							<Form method="post">
								<CsrfInput />
								<button type="submit" name="intent" value="portal" className="secondary">
									{t('billing.portal')}
								</button>
							</Form>
							<Link to="/credits/invoices">{t('billing.invoices')}</Link>
						</div>
					</>
				)}
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
								<td data-label={t('credits.col.what')}>
									{t(`credits.reason.${m.reason}`)}
									{m.link ? (
										<>
											{' · '}
											<Link to={m.link.to}>
												{t(m.link.kind === 'transformation' ? 'billing.ledger.transformation' : 'billing.ledger.invoice')}
											</Link>
										</>
									) : null}
								</td>
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
