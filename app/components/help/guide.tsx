import { Link } from '@remix-run/react'
import { useId, type ReactNode } from 'react'
import { guides, type GuideKey } from '#app/modules/help/guides.ts'
import { translate, type MessageKey } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'

export type GuideSection = { id: string; title: string; content: ReactNode }

/**
 * One guide: breadcrumb, a single h1, the lead, a table of contents, one h2 per section (h3 inside
 * a section at most), then the other guides. The text is French whatever the interface language
 * (`lang="fr"`); an English reader is told so above it.
 */
export function Guide({ guide, lead, sections }: { guide: GuideKey; lead: ReactNode; sections: GuideSection[] }) {
	const t = useT()
	const locale = useLocale()
	const title = translate('fr', `help.guide.${guide}.title`)
	return (
		<>
			<nav aria-label={t('help.breadcrumb')} className="breadcrumb">
				<ol>
					<li>
						<Link to="/aide">{t('help.title')}</Link>
					</li>
					<li aria-current="page">{title}</li>
				</ol>
			</nav>
			{locale === 'fr' ? null : <p className="note">{t('help.frenchOnly')}</p>}
			<article className="guide" lang="fr" aria-labelledby="guide-title">
				<h1 id="guide-title">{title}</h1>
				<div className="lead">{lead}</div>
				{sections.length > 2 ? (
					<nav className="toc" aria-labelledby="toc-title">
						<p id="toc-title" className="toc-title">
							{translate('fr', 'help.toc')}
						</p>
						<ol>
							{sections.map((section) => (
								<li key={section.id}>
									<a href={`#${section.id}`}>{section.title}</a>
								</li>
							))}
						</ol>
					</nav>
				) : null}
				{sections.map((section) => (
					<section key={section.id} aria-labelledby={section.id}>
						<h2 id={section.id}>{section.title}</h2>
						{section.content}
					</section>
				))}
			</article>
			<nav className="card other-guides" aria-labelledby="other-guides-title">
				<h2 id="other-guides-title">{t('help.others')}</h2>
				<ul>
					{guides
						.filter((other) => other.key !== guide)
						.map((other) => (
							<li key={other.key}>
								<Link to={`/aide/${other.slug}`}>{t(`help.guide.${other.key}.title`)}</Link>
							</li>
						))}
				</ul>
			</nav>
		</>
	)
}

/** A command or a file to copy: scrollable on a phone and reachable with the keyboard. */
export function CodeBlock({ title, code }: { title: string; code: string }) {
	const id = useId()
	return (
		<figure className="code-block">
			<figcaption id={id}>{title}</figcaption>
			<pre tabIndex={0} aria-labelledby={id}>
				<code>{code}</code>
			</pre>
		</figure>
	)
}

/** An interface label quoted in a guide, read from the catalogue so the guide names what the screen shows. */
export function Ui({ label }: { label: MessageKey }) {
	return <strong className="ui-label">{`«\u00a0${translate('fr', label)}\u00a0»`}</strong>
}
