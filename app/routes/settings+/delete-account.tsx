import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { useId } from 'react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { CodeField } from '#app/components/ui/field.tsx'
import { destroySession, requireUser } from '#app/modules/auth/session.server.ts'
import {
	confirmDeletion,
	DELETION_CODE_TTL_MINUTES,
	DeletionError,
	deletionProblem,
	hasPendingDeletionCode,
	requestDeletionCode,
} from '#app/modules/gdpr/deletion.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction = () => [{ title: 'Supprimer mon compte — Renzo' }]

/** Where the user lands, logged out, once the deletion is confirmed. */
const DELETION_DONE_PATH = '/settings/delete-account/done'

type ActionData = { intent: 'send' | 'confirm'; error: MessageKey; vars?: Record<string, number> }

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	return {
		email: user.email,
		credits: user.creditBalance,
		pending: await hasPendingDeletionCode(user.id),
		minutes: DELETION_CODE_TTL_MINUTES,
	}
}

export async function action({ request }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const form = await request.formData()
	const intent = form.get('intent')
	if (intent === 'send') {
		if (form.get('confirm') !== 'yes') return data<ActionData>({ intent, error: 'accountDeletion.error.confirmRequired' }, { status: 400 })
		try {
			await requestDeletionCode({ userId: user.id, email: user.email, locale: user.locale, request })
		} catch (error) {
			if (!(error instanceof DeletionError) || error.failure.reason !== 'rate_limited') throw error
			const { status, ...problem } = deletionProblem(error.failure)
			return data<ActionData>({ intent, ...problem }, { status, headers: { 'Retry-After': String(error.failure.retryAfterSeconds) } })
		}
		return redirectWithToast('/settings/delete-account', { key: 'accountDeletion.toast.codeSent', type: 'success' })
	}
	if (intent !== 'confirm') throw new Response('Unknown intent', { status: 400 })
	const code = String(form.get('code') ?? '').replace(/\s+/g, '')
	if (!/^\d{6}$/.test(code)) return data<ActionData>({ intent, error: 'accountDeletion.error.codeFormat' }, { status: 400 })
	try {
		await confirmDeletion({ userId: user.id, code, request })
	} catch (error) {
		if (!(error instanceof DeletionError)) throw error
		const { status, ...problem } = deletionProblem(error.failure)
		return data<ActionData>({ intent, ...problem }, { status })
	}
	// Every session is revoked already; this one's cookie goes too.
	return redirect(DELETION_DONE_PATH, { headers: { 'Set-Cookie': await destroySession(request) } })
}

export default function DeleteAccountPage() {
	const { email, credits, pending, minutes } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const navigation = useNavigation()
	const t = useT()
	const confirmId = useId()
	const busy = navigation.state === 'submitting'
	const sendProblem = actionData?.intent === 'send' ? actionData : null
	const codeProblem = actionData?.intent === 'confirm' ? actionData : null
	return (
		<>
			<h1>{t('accountDeletion.title')}</h1>
			<section className="card" aria-labelledby="deleted-title">
				<p>
					<strong>{t('accountDeletion.intro')}</strong>
				</p>
				<h2 id="deleted-title">{t('accountDeletion.deletedTitle')}</h2>
				<ul>
					<li>{t('accountDeletion.deleted.account')}</li>
					<li>{t('accountDeletion.deleted.projects')}</li>
					<li>{t('accountDeletion.deleted.credits', { count: credits })}</li>
					<li>{t('accountDeletion.deleted.other')}</li>
					<li>{t('accountDeletion.deleted.billing')}</li>
				</ul>
				<h2>{t('accountDeletion.keptTitle')}</h2>
				<ul>
					<li>{t('accountDeletion.kept.invoices')}</li>
					<li>{t('accountDeletion.kept.trace')}</li>
				</ul>
				<p>
					{t('accountDeletion.exportHint')} <Link to="/settings/export">{t('gdpr.settingsLink')}</Link>
				</p>
			</section>
			<section className="card danger-zone" aria-labelledby="send-title">
				<h2 id="send-title">{t('accountDeletion.stepSend')}</h2>
				<Form method="post" noValidate>
					<CsrfInput />
					<div className="choice">
						<input
							type="checkbox"
							id={confirmId}
							name="confirm"
							value="yes"
							required
							aria-invalid={sendProblem ? true : undefined}
							aria-describedby={sendProblem ? `${confirmId}-error` : undefined}
						/>
						<label htmlFor={confirmId}>{t('accountDeletion.confirmLabel')}</label>
					</div>
					{sendProblem ? (
						<p className="field-error" id={`${confirmId}-error`} role="alert">
							{t(sendProblem.error, sendProblem.vars)}
						</p>
					) : null}
					<button type="submit" name="intent" value="send" className={pending ? 'secondary' : undefined} disabled={busy}>
						{pending ? t('accountDeletion.resend') : t('accountDeletion.send')}
					</button>
				</Form>
			</section>
			{pending || codeProblem ? (
				<section className="card danger-zone" aria-labelledby="confirm-title">
					<h2 id="confirm-title">{t('accountDeletion.stepConfirm')}</h2>
					<p aria-live="polite">{t('accountDeletion.codeSent', { email, minutes })}</p>
					<Form method="post" noValidate>
						<CsrfInput />
						<CodeField
							label={t('accountDeletion.code')}
							hint={t('accountDeletion.codeHint')}
							error={codeProblem ? t(codeProblem.error, codeProblem.vars) : null}
						/>
						<button type="submit" name="intent" value="confirm" className="danger" disabled={busy}>
							{t('accountDeletion.confirm')}
						</button>
					</Form>
				</section>
			) : null}
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
