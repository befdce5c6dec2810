import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { checkoutOutcome } from '#app/modules/billing/checkout.server.ts'
import { useT } from '#app/modules/i18n/use-t.ts'

export const meta: MetaFunction = () => [{ title: 'Merci — Renzo' }]

/**
 * Where Stripe sends the buyer back. It proves nothing (anyone can open it): it only shows the
 * state the webhook left, for a session of THIS user; credits come from the webhook alone.
 */
export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const sessionId = new URL(request.url).searchParams.get('session') ?? ''
	const purchase = await checkoutOutcome(user.id, sessionId)
	return { purchase, balance: user.creditBalance }
}

export default function ThanksPage() {
	const { purchase } = useLoaderData<typeof loader>()
	const t = useT()
	return (
		<>
			<h1>{t('billing.thanks.title')}</h1>
			<p className="card" role="status">
				{!purchase
					? t('billing.thanks.unknown')
					: purchase.kind === 'plan'
						? t('billing.thanks.plan')
						: purchase.status === 'paid'
							? t('billing.thanks.paid', { count: purchase.credits })
							: purchase.status === 'failed'
								? t('billing.thanks.failed')
								: t('billing.thanks.pending')}
			</p>
			<p>
				<Link to="/credits">{t('billing.thanks.back')}</Link>
			</p>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
