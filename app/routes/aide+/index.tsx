import type { MetaFunction } from '@remix-run/node'
import { Link } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { guides } from '#app/modules/help/guides.ts'
import { translate } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'

export const meta: MetaFunction = () => [{ title: 'Aide — Renzo' }, { name: 'description', content: translate('fr', 'help.intro') }]

export default function HelpIndex() {
	const t = useT()
	const locale = useLocale()
	return (
		<>
			<h1>{t('help.title')}</h1>
			<p className="lead">{t('help.intro')}</p>
			{locale === 'fr' ? null : <p className="note">{t('help.frenchOnlyAll')}</p>}
			<section aria-labelledby="guides-title">
				<h2 id="guides-title" className="visually-hidden">
					{t('help.guides')}
				</h2>
				<ol className="guide-list">
					{guides.map((guide) => (
						<li key={guide.key} className="card">
							<h3>
								<Link to={`/aide/${guide.slug}`}>{t(`help.guide.${guide.key}.title`)}</Link>
							</h3>
							<p className="muted">{t(`help.guide.${guide.key}.summary`)}</p>
						</li>
					))}
				</ol>
			</section>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
