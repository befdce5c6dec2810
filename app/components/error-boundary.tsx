import { isRouteErrorResponse, Link, useRouteError } from '@remix-run/react'
import { useT } from '#app/modules/i18n/use-t.ts'

/**
 * A French (or English) page for 403/404/500 that keeps the layout around it; 503 is the database
 * being away during a client-side navigation (the HTTP layer's answer): retry, nothing is lost.
 */
export function GeneralErrorBoundary() {
	const error = useRouteError()
	const t = useT()
	const status = isRouteErrorResponse(error) ? error.status : 500
	if (!isRouteErrorResponse(error) && typeof document !== 'undefined') console.error(error)
	const [title, text] =
		status === 404
			? [t('error.404.title'), t('error.404.text')]
			: status === 403
				? [t('error.403.title'), t('error.403.text')]
				: status === 503
					? [t('unavailable.title'), t('unavailable.detail')]
					: [t('error.500.title'), t('error.500.text')]
	return (
		<section className="error-page" aria-labelledby="error-title">
			<p className="error-code">{status}</p>
			<h1 id="error-title">{title}</h1>
			<p role={status === 503 ? 'status' : undefined}>{text}</p>
			<p>
				{status === 503 ? (
					// A full reload: the page and its data come back together once the database is.
					<a href="" className="button">
						{t('unavailable.retry')}
					</a>
				) : (
					<Link to="/" className="button">
						{t('error.home')}
					</Link>
				)}
			</p>
		</section>
	)
}
