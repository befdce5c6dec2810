import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { ConfirmDelete } from '#app/components/confirm-delete.tsx'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { WebhookDeliveryLog } from '#app/components/webhook-delivery-log.tsx'
import { WebhookEndpointForm, WebhookSecret } from '#app/components/webhook-endpoint-form.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import {
	deleteEndpoint,
	getEndpoint,
	parseEndpointForm,
	regenerateSecret,
	resendDelivery,
	sendTestEvent,
	setEndpointEnabled,
	updateEndpoint,
	WebhookError,
	type EndpointFormErrors,
} from '#app/modules/webhooks-out/endpoints.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { formatDateTime } from '#app/utils/format.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction = () => [{ title: 'Webhook — Renzo' }]

type ActionData = { secret: string } | { errors: EndpointFormErrors } | { error: MessageKey; vars?: Record<string, number> }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const notFound = () => new Response('Not found', { status: 404 })

/** The endpoint id of the URL, or a 404 (an id that is not even a uuid is nobody's). */
function endpointIdOf(params: LoaderFunctionArgs['params']) {
	const id = params.endpointId ?? ''
	if (!UUID.test(id)) throw notFound()
	return id
}

export async function loader({ request, params }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const before = new URL(request.url).searchParams.get('before')
	const found = await getEndpoint(user.id, endpointIdOf(params), before && UUID.test(before) ? before : null)
	if (!found) throw notFound()
	return { ...found, paged: Boolean(before), threshold: getEnv().CREDITS_LOW_THRESHOLD }
}

export async function action({ request, params }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const endpointId = endpointIdOf(params)
	const here = `/settings/webhooks/${endpointId}`
	const form = await request.formData()
	const intent = form.get('intent')
	try {
		if (intent === 'test') {
			if (!(await sendTestEvent(user.id, endpointId))) throw notFound()
			return redirectWithToast(here, { key: 'webhooks.testSent', type: 'success' })
		}
		if (intent === 'resend') {
			const deliveryId = String(form.get('deliveryId') ?? '')
			if (!UUID.test(deliveryId) || !(await resendDelivery(user.id, endpointId, deliveryId))) throw notFound()
			return redirectWithToast(here, { key: 'webhooks.log.resent', type: 'success' })
		}
	} catch (error) {
		if (!(error instanceof WebhookError)) throw error
		return data<ActionData>({ error: 'webhooks.error.rateLimited', vars: error.vars }, { status: 429 })
	}
	if (intent === 'regenerate') {
		const secret = await regenerateSecret(user.id, endpointId)
		if (!secret) throw notFound()
		return data<ActionData>({ secret })
	}
	if (intent === 'disable' || intent === 'enable') {
		if (!(await setEndpointEnabled(user.id, endpointId, intent === 'enable', request))) throw notFound()
		return redirectWithToast(here, { key: intent === 'enable' ? 'webhooks.enabledToast' : 'webhooks.disabledToast', type: 'success' })
	}
	if (intent === 'update') {
		const parsed = parseEndpointForm(form)
		if (!parsed.ok) return data<ActionData>({ errors: parsed.errors }, { status: 400 })
		if (!(await updateEndpoint(user.id, endpointId, parsed.value))) throw notFound()
		return redirectWithToast(here, { key: 'webhooks.saved', type: 'success' })
	}
	if (intent === 'delete') {
		if (form.get('confirm') !== 'yes') return redirect(here)
		if (!(await deleteEndpoint(user.id, endpointId, request))) throw notFound()
		return redirectWithToast('/settings/webhooks', { key: 'webhooks.deleted', type: 'success' })
	}
	throw new Response('Unknown intent', { status: 400 })
}

export default function WebhookPage() {
	const { endpoint, deliveries, next, paged, threshold } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	const locale = useLocale()
	const here = `/settings/webhooks/${endpoint.id}`
	const errors = actionData && 'errors' in actionData ? actionData.errors : null
	return (
		<>
			<p>
				<Link to="/settings/webhooks">{t('webhooks.back')}</Link>
			</p>
			<h1>
				{t('webhooks.title')} — <code>{endpoint.url}</code>
			</h1>
			{actionData && 'error' in actionData ? (
				<p className="alert alert-error" role="alert">
					{t(actionData.error, actionData.vars)}
				</p>
			) : null}
			{actionData && 'secret' in actionData ? <WebhookSecret secret={actionData.secret} /> : null}
			<section className="card">
				<p>
					<span className={`pill ${endpoint.disabledAt ? 'pill-t-failed' : 'pill-t-succeeded'}`}>
						{t(endpoint.disabledAt ? 'webhooks.status.disabled' : 'webhooks.status.active')}
					</span>{' '}
					{endpoint.description}
				</p>
				{endpoint.disabledAt ? (
					<p className="alert alert-error">
						{t(endpoint.disabledReason === 'user' ? 'webhooks.disabledByUser' : 'webhooks.disabledByFailures', {
							date: formatDateTime(endpoint.disabledAt, locale),
						})}
					</p>
				) : null}
				<p className="muted">{endpoint.events.map((type) => t(`webhooks.event.${type}`)).join(' · ')}</p>
				<div className="actions">
					<Form method="post">
						<CsrfInput />
						<button type="submit" name="intent" value="test">
							{t('webhooks.test')}
						</button>
					</Form>
					<Form method="post">
						<CsrfInput />
						<button type="submit" name="intent" value={endpoint.disabledAt ? 'enable' : 'disable'} className="secondary">
							{t(endpoint.disabledAt ? 'webhooks.enable' : 'webhooks.disable')}
						</button>
					</Form>
					<Form method="post">
						<CsrfInput />
						<button type="submit" name="intent" value="regenerate" className="secondary" aria-describedby="regenerate-hint">
							{t('webhooks.secret.regenerate')}
						</button>
					</Form>
				</div>
				<p className="muted" id="regenerate-hint">
					{t('webhooks.secret.regenerateHint')}
				</p>
			</section>
			<details className="card" open={Boolean(errors)}>
				<summary>{t('webhooks.edit')}</summary>
				<WebhookEndpointForm intent="update" submit={t('webhooks.save')} threshold={threshold} errors={errors} defaults={endpoint} />
			</details>
			<section className="card" aria-labelledby="log-title">
				<h2 id="log-title">{t('webhooks.log.title')}</h2>
				<p className="muted">
					{t('webhooks.log.intro')} <Link to={here}>{t('webhooks.log.refresh')}</Link>
				</p>
				<WebhookDeliveryLog deliveries={deliveries} />
				<p className="actions">
					{paged ? <Link to={here}>{t('webhooks.log.newest')}</Link> : null}
					{next ? <Link to={`${here}?before=${next}`}>{t('webhooks.log.older')}</Link> : null}
				</p>
			</section>
			<ConfirmDelete
				title={t('webhooks.delete')}
				question={t('webhooks.deleteQuestion')}
				confirmLabel={t('webhooks.deleteConfirmLabel')}
				open={false}
			/>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
