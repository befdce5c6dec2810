import type { MetaFunction } from '@remix-run/node'
import { Link } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { useT } from '#app/modules/i18n/use-t.ts'

export const meta: MetaFunction = () => [{ title: 'Compte en cours de suppression — Renzo' }]

// Public on purpose: the user was logged out by the deletion. The page says nothing about anyone.
export default function AccountDeletedPage() {
	const t = useT()
	return (
		<section className="narrow card" aria-labelledby="deleted-title">
			<h1 id="deleted-title">{t('accountDeletion.done.title')}</h1>
			<p role="status">{t('accountDeletion.done.body')}</p>
			<p>
				<Link to="/">{t('accountDeletion.done.home')}</Link>
			</p>
		</section>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
