import {
	data,
	type ActionFunctionArgs,
	type HeadersFunction,
	type LinksFunction,
	type LoaderFunctionArgs,
	type MetaFunction,
} from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { useEffect, useState } from 'react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { Field } from '#app/components/ui/field.tsx'
import { ApiKeyName, createApiKey, listApiKeys, MAX_ACTIVE_KEYS, revokeApiKey, TooManyKeysError } from '#app/modules/api/keys.server.ts'
import { requireUser } from '#app/modules/auth/session.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { formatDateTime } from '#app/utils/format.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'
import apiStyles from '../../styles/api.css?url'

export const meta: MetaFunction = () => [{ title: 'Clés d’API — Renzo' }]
export const links: LinksFunction = () => [{ rel: 'stylesheet', href: apiStyles }]
// The page that shows a new key once must never be kept by a cache or the back button.
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

type ActionData = { created: { name: string; secret: string } } | { error: MessageKey; vars?: Record<string, number> }

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	return { keys: await listApiKeys(user.id) }
}

export async function action({ request }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const form = await request.formData()
	const intent = form.get('intent')
	if (intent === 'create') {
		const name = ApiKeyName.safeParse(form.get('name') ?? '')
		if (!name.success) return data<ActionData>({ error: name.error.issues[0]!.message as MessageKey }, { status: 400 })
		try {
			const key = await createApiKey(user.id, name.data, request)
			// Shown once, in this response only: never stored, never in a URL or a cookie.
			return data<ActionData>({ created: { name: key.name, secret: key.secret } }, { headers: { 'Cache-Control': 'no-store' } })
		} catch (error) {
			if (!(error instanceof TooManyKeysError)) throw error
			return data<ActionData>({ error: 'apiKeys.error.tooMany', vars: { max: MAX_ACTIVE_KEYS } }, { status: 409 })
		}
	}
	if (intent === 'revoke') {
		const revoked = await revokeApiKey(user.id, String(form.get('keyId') ?? ''), request)
		return redirectWithToast(
			'/settings/api-keys',
			revoked ? { key: 'apiKeys.revoked', type: 'success' } : { key: 'apiKeys.error.notFound', type: 'error' },
		)
	}
	throw new Response('Unknown intent', { status: 400 })
}

/** The new key in a read-only field (select and copy it by hand without JavaScript) and, with JavaScript, a copy button. */
function NewKey({ name, secret }: { name: string; secret: string }) {
	const t = useT()
	const [hydrated, setHydrated] = useState(false)
	const [copied, setCopied] = useState(false)
	useEffect(() => setHydrated(true), [])
	return (
		<section className="card" aria-labelledby="new-key-title">
			<h2 id="new-key-title">{t('apiKeys.created.title', { name })}</h2>
			<p className="alert" role="note">
				{t('apiKeys.created.once')}
			</p>
			<Field
				label={t('apiKeys.created.label')}
				name="secret"
				value={secret}
				readOnly
				className="secret"
				autoComplete="off"
				spellCheck={false}
				onFocus={(event) => event.currentTarget.select()}
			/>
			<div className="actions">
				{hydrated ? (
					<button
						type="button"
						className="button secondary"
						onClick={() =>
							void navigator.clipboard.writeText(secret).then(
								() => setCopied(true),
								() => setCopied(false),
							)
						}
					>
						{t('apiKeys.created.copy')}
					</button>
				) : null}
				<Link to="/settings/api-keys">{t('apiKeys.created.done')}</Link>
			</div>
			<p aria-live="polite" className="muted">
				{copied ? t('apiKeys.created.copied') : ''}
			</p>
		</section>
	)
}

export default function ApiKeysPage() {
	const { keys } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	const locale = useLocale()
	const created = actionData && 'created' in actionData ? actionData.created : null
	const error = actionData && 'error' in actionData ? t(actionData.error, actionData.vars) : null
	return (
		<>
			<h1>{t('apiKeys.title')}</h1>
			<section className="card">
				<p>{t('apiKeys.intro')}</p>
				<p>
					<Link to="/api-docs">{t('apiKeys.docsLink')}</Link>
				</p>
			</section>
			{created ? <NewKey name={created.name} secret={created.secret} /> : null}
			<section className="card" aria-labelledby="create-key-title">
				<h2 id="create-key-title">{t('apiKeys.create.title')}</h2>
				<Form method="post" noValidate>
					<CsrfInput />
					<Field
						label={t('apiKeys.create.name')}
						hint={t('apiKeys.create.nameHint')}
						name="name"
						maxLength={80}
						required
						autoComplete="off"
						error={error}
					/>
					<button type="submit" name="intent" value="create">
						{t('apiKeys.create.submit')}
					</button>
				</Form>
			</section>
			<section className="card" aria-labelledby="keys-title">
				<h2 id="keys-title">{t('apiKeys.list.title')}</h2>
				{keys.length === 0 ? (
					<p className="muted">{t('apiKeys.list.empty')}</p>
				) : (
					<ul className="list">
						{keys.map((key) => (
							<li key={key.id}>
								<strong>{key.name}</strong> <code>{key.prefix}…</code>
								<br />
								<span className="muted">
									{[
										t('apiKeys.list.createdOn', { date: formatDateTime(key.createdAt, locale) }),
										key.lastUsedAt
											? t('apiKeys.list.lastUsed', { date: formatDateTime(key.lastUsedAt, locale) })
											: t('apiKeys.list.neverUsed'),
										key.revokedAt ? t('apiKeys.list.revokedOn', { date: formatDateTime(key.revokedAt, locale) }) : null,
									]
										.filter(Boolean)
										.join(' · ')}
								</span>
								{key.revokedAt ? null : (
									<Form method="post">
										<CsrfInput />
										<input type="hidden" name="keyId" value={key.id} />
										<button
											type="submit"
											name="intent"
											value="revoke"
											className="danger"
											aria-label={t('apiKeys.revokeLabel', { name: key.name })}
										>
											{t('apiKeys.revoke')}
										</button>
									</Form>
								)}
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
