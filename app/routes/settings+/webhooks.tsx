import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { WebhookEndpointForm, WebhookSecret } from '#app/components/webhook-endpoint-form.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import {
	createEndpoint,
	listEndpoints,
	MAX_ENDPOINTS,
	parseEndpointForm,
	WebhookError,
	type EndpointFormErrors,
} from '#app/modules/webhooks-out/endpoints.server.ts'
import { isWebhookEventType, type WebhookEventType } from '#app/modules/webhooks-out/events.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { formatDateTime } from '#app/utils/format.ts'

export const meta: MetaFunction = () => [{ title: 'Webhooks — Renzo' }]

type Values = { url: string; description: string; events: WebhookEventType[] }
type ActionData =
	| { created: { id: string; secret: string } }
	| { errors: EndpointFormErrors; values: Values; error?: MessageKey; vars?: Record<string, number> }

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	return { endpoints: await listEndpoints(user.id), max: MAX_ENDPOINTS, threshold: getEnv().CREDITS_LOW_THRESHOLD }
}

export async function action({ request }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const form = await request.formData()
	if (form.get('intent') !== 'create') throw new Response('Unknown intent', { status: 400 })
	const parsed = parseEndpointForm(form)
	// What the user typed comes back with the errors (the page also works without JavaScript).
	const values = {
		url: String(form.get('url') ?? ''),
		description: String(form.get('description') ?? ''),
		events: form.getAll('events').filter(isWebhookEventType),
	}
	if (!parsed.ok) return data<ActionData>({ errors: parsed.errors, values }, { status: 400 })
	try {
		// Not a redirect: the secret is shown in this response, and never again.
		return data<ActionData>({ created: await createEndpoint(user.id, parsed.value, request) })
	} catch (error) {
		if (!(error instanceof WebhookError)) throw error
		return data<ActionData>({ errors: {}, values, error: 'webhooks.error.tooMany', vars: error.vars }, { status: 409 })
	}
}

export default function WebhooksPage() {
	const { endpoints, max, threshold } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	const locale = useLocale()
	const created = actionData && 'created' in actionData ? actionData.created : null
	const problem = actionData && 'errors' in actionData ? actionData : null
	return (
		<>
			<p>
				<Link to="/settings">{t('account.title')}</Link>
			</p>
			<h1>{t('webhooks.title')}</h1>
			<section className="card">
				<p>{t('webhooks.intro')}</p>
				<p>
					<Link to="/aide/api">{t('webhooks.guideLink')}</Link>
				</p>
			</section>
			{created ? (
				<WebhookSecret secret={created.secret}>
					<p>
						<strong>{t('webhooks.created')}</strong> <Link to={`/settings/webhooks/${created.id}`}>{t('webhooks.secret.open')}</Link>
					</p>
				</WebhookSecret>
			) : null}
			<section className="card" aria-labelledby="webhooks-list-title">
				<h2 id="webhooks-list-title">{t('webhooks.list')}</h2>
				{endpoints.length === 0 ? (
					<p className="muted">{t('webhooks.empty')}</p>
				) : (
					<ul className="list">
						{endpoints.map((endpoint) => (
							<li key={endpoint.id}>
								<Link to={`/settings/webhooks/${endpoint.id}`} aria-label={t('webhooks.manage', { url: endpoint.url })}>
									<code>{endpoint.url}</code>
								</Link>{' '}
								<span className={`pill ${endpoint.disabledAt ? 'pill-t-failed' : 'pill-t-succeeded'}`}>
									{t(endpoint.disabledAt ? 'webhooks.status.disabled' : 'webhooks.status.active')}
								</span>
								{endpoint.description ? (
									<>
										<br />
										{endpoint.description}
									</>
								) : null}
								<br />
								<span className="muted">
									{endpoint.events.map((type) => t(`webhooks.event.${type}`)).join(' · ')}
									<br />
									{endpoint.lastDelivery
										? t('webhooks.lastDelivery', {
												date: formatDateTime(endpoint.lastDelivery.createdAt, locale),
												status: t(`webhooks.delivery.${endpoint.lastDelivery.status}`),
											})
										: t('webhooks.noDelivery')}
								</span>
							</li>
						))}
					</ul>
				)}
			</section>
			<section className="card" aria-labelledby="webhooks-new-title">
				<h2 id="webhooks-new-title">{t('webhooks.new')}</h2>
				{problem?.error ? (
					<p className="alert alert-error" role="alert">
						{t(problem.error, problem.vars)}
					</p>
				) : null}
				{endpoints.length >= max ? (
					<p>{t('webhooks.limitReached', { max })}</p>
				) : (
					<WebhookEndpointForm
						key={created?.id}
						intent="create"
						submit={t('webhooks.create')}
						threshold={threshold}
						errors={problem?.errors}
						defaults={problem?.values}
					/>
				)}
			</section>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
