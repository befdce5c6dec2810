import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { readOutbox } from '#app/modules/email/outbox.server.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { formatDateTime } from '#app/utils/format.ts'

export const meta: MetaFunction = () => [{ title: 'Boîte d’envoi — Renzo' }, { name: 'robots', content: 'noindex' }]

// Development only: the outbox does not exist in production, and neither does this page.
export async function loader(_: LoaderFunctionArgs) {
	const env = getEnv()
	if (env.NODE_ENV === 'production' || env.SMTP_URL) throw new Response('Not found', { status: 404 })
	return { messages: await readOutbox() }
}

export default function OutboxPage() {
	const { messages } = useLoaderData<typeof loader>()
	const t = useT()
	const locale = useLocale()
	return (
		<>
			<h1>{t('outbox.title')}</h1>
			<p className="muted">{t('outbox.intro')}</p>
			{messages.length === 0 ? <p className="empty">{t('outbox.empty')}</p> : null}
			{messages.map((m) => (
				<article key={m.id} className="card">
					<h2>{m.subject}</h2>
					<p className="muted">
						{t('outbox.to')} {m.to} · {formatDateTime(m.sentAt, locale)}
					</p>
					<pre className="mail">{m.text}</pre>
				</article>
			))}
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
