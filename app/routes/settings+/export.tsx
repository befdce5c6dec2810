import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import { ExportError, exportTtlHours, listExports, maxExportsPerDay, requestExport } from '#app/modules/gdpr/export.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { keepRetryAfter, retryAfterHeader } from '#app/modules/security/rate-limit.server.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { formatDateTime } from '#app/utils/format.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction = () => [{ title: 'Exporter mes données — Renzo' }]
export const headers = keepRetryAfter

type ActionData = { error: MessageKey; vars?: Record<string, number> }

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	return { exports: await listExports(user.id), ttlHours: exportTtlHours() }
}

export async function action({ request }: ActionFunctionArgs) {
	const user = await requireUser(request)
	try {
		await requestExport(user.id, request)
	} catch (error) {
		if (!(error instanceof ExportError)) throw error
		if (error.code === 'pending') return data<ActionData>({ error: 'gdpr.error.pending' }, { status: 409 })
		return data<ActionData>(
			{ error: 'gdpr.error.rateLimited', vars: { max: maxExportsPerDay(), hours: Math.ceil(error.retryAfterSeconds / 3600) } },
			{ status: 429, headers: retryAfterHeader(error.retryAfterSeconds) },
		)
	}
	return redirectWithToast('/settings/export', { key: 'gdpr.requested', type: 'success' })
}

export default function ExportPage() {
	const { exports, ttlHours } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	const locale = useLocale()
	return (
		<>
			<h1>{t('gdpr.title')}</h1>
			<section className="card">
				<p>{t('gdpr.intro', { hours: ttlHours })}</p>
				<Form method="post">
					<CsrfInput />
					{actionData ? (
						<p className="error" role="alert">
							{t(actionData.error, actionData.vars)}
						</p>
					) : null}
					<button type="submit">{t('gdpr.request')}</button>
				</Form>
			</section>
			<section className="card" aria-labelledby="exports-title">
				<h2 id="exports-title">{t('gdpr.history')}</h2>
				{exports.length === 0 ? (
					<p className="muted">{t('gdpr.empty')}</p>
				) : (
					<ul className="list">
						{exports.map((e) => (
							<li key={e.id}>
								<strong>{t(`gdpr.status.${e.status}`)}</strong> — {t('gdpr.requestedOn', { date: formatDateTime(e.createdAt, locale) })}
								{e.status === 'ready' && e.expiresAt ? (
									<>
										{' '}
										({t('gdpr.expiresOn', { date: formatDateTime(e.expiresAt, locale) })}){' '}
										<Link to={`/settings/export/${e.id}`} reloadDocument>
											{t('gdpr.download')}
										</Link>
									</>
								) : null}
							</li>
						))}
					</ul>
				)}
			</section>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
