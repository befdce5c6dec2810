import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { Field } from '#app/components/ui/field.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import {
	cancelEnrolment,
	confirmEnrolment,
	disableTwoFactor,
	parseSecondFactorCode,
	regenerateRecoveryCodes,
	startEnrolment,
	TWO_FACTOR_SETTINGS_PATH,
	TwoFactorError,
	twoFactorProblem,
	twoFactorSettings,
} from '#app/modules/auth/two-factor.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { keepRetryAfter, retryAfterHeader } from '#app/modules/security/rate-limit.server.ts'
import { formatDateTime } from '#app/utils/format.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction = () => [{ title: 'Double authentification — Renzo' }]
export const headers = keepRetryAfter

type Intent = 'start' | 'cancel' | 'confirm' | 'regenerate' | 'disable'
type ActionData = { recoveryCodes: string[] } | { intent: Intent; error: MessageKey; vars?: Record<string, number> }

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	return twoFactorSettings(user)
}

export async function action({ request }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const form = await request.formData()
	const intent = form.get('intent')
	if (intent === 'start') {
		try {
			await startEnrolment(user.id)
		} catch (error) {
			// Already on (another tab): just show the page as it is.
			if (!(error instanceof TwoFactorError)) throw error
		}
		return redirect(TWO_FACTOR_SETTINGS_PATH)
	}
	if (intent === 'cancel') {
		await cancelEnrolment(user.id)
		return redirect('/settings')
	}
	if (intent !== 'confirm' && intent !== 'regenerate' && intent !== 'disable') throw new Response('Unknown intent', { status: 400 })
	const code = parseSecondFactorCode(form.get('code'))
	if (!code) return data<ActionData>({ intent, error: 'twoFactor.error.codeFormat' }, { status: 400 })
	try {
		if (intent === 'confirm') return { recoveryCodes: await confirmEnrolment({ userId: user.id, code, request }) }
		if (intent === 'regenerate') return { recoveryCodes: await regenerateRecoveryCodes({ userId: user.id, code, request }) }
		await disableTwoFactor({ user, code, request })
		return redirectWithToast('/settings', { key: 'twoFactor.disabled', type: 'success' })
	} catch (error) {
		if (!(error instanceof TwoFactorError)) throw error
		const { status, ...problem } = twoFactorProblem(error.failure)
		const headers = error.failure.reason === 'locked' ? retryAfterHeader(error.failure.retryAfterSeconds) : undefined
		return data<ActionData>({ intent, ...problem }, { status, headers })
	}
}

function CodeForm({ intent, label, hint, numeric, submit, danger }: CodeFormProps) {
	const actionData = useActionData<typeof action>()
	const t = useT()
	const problem = actionData && 'error' in actionData && actionData.intent === intent ? actionData : null
	return (
		<Form method="post" noValidate>
			<CsrfInput />
			<Field
				label={label}
				hint={hint}
				name="code"
				className={numeric ? 'code' : undefined}
				inputMode={numeric ? 'numeric' : undefined}
				pattern={numeric ? '[0-9]{6}' : undefined}
				autoComplete="one-time-code"
				autoCapitalize="none"
				spellCheck={false}
				maxLength={numeric ? 7 : 20}
				required
				error={problem ? t(problem.error, problem.vars) : null}
			/>
			<button type="submit" name="intent" value={intent} className={danger ? 'danger' : undefined}>
				{submit}
			</button>
		</Form>
	)
}
type CodeFormProps = { intent: Intent; label: string; hint?: string; numeric: boolean; submit: string; danger?: boolean }

export default function TwoFactorPage() {
	const { enabledAt, recoveryCodesLeft, enrolment, required } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	const locale = useLocale()
	if (actionData && 'recoveryCodes' in actionData) {
		return (
			<section className="card narrow" aria-labelledby="recovery-title">
				<h1 id="recovery-title">{t('twoFactor.recovery.title')}</h1>
				<p>{t('twoFactor.recovery.intro', { count: actionData.recoveryCodes.length })}</p>
				<ol className="list">
					{actionData.recoveryCodes.map((code) => (
						<li key={code}>
							<code>{code}</code>
						</li>
					))}
				</ol>
				<p>
					<Link to="/settings">{t('twoFactor.recovery.done')}</Link>
				</p>
			</section>
		)
	}
	return (
		<>
			<h1>{t('twoFactor.title')}</h1>
			{required && !enabledAt ? (
				<p className="alert alert-error" role="alert">
					{t('twoFactor.required')}
				</p>
			) : null}
			<section className="card">
				<p>{t('twoFactor.intro')}</p>
				<p>
					<strong>{enabledAt ? t('twoFactor.statusOn', { date: formatDateTime(enabledAt, locale) }) : t('twoFactor.statusOff')}</strong>
				</p>
				{!enabledAt && !enrolment ? (
					<Form method="post">
						<CsrfInput />
						<button type="submit" name="intent" value="start">
							{t('twoFactor.start')}
						</button>
					</Form>
				) : null}
			</section>
			{enrolment ? (
				<section className="card">
					<p>{t('twoFactor.enrol.scan')}</p>
					<img src={enrolment.qrCode} alt={t('twoFactor.enrol.qrAlt')} width={200} height={200} />
					<p>{t('twoFactor.enrol.manual')}</p>
					<p>
						<code>{enrolment.manualKey}</code>
					</p>
					<p>{t('twoFactor.enrol.confirmIntro')}</p>
					<CodeForm
						intent="confirm"
						label={t('twoFactor.code')}
						hint={t('twoFactor.codeHint')}
						numeric
						submit={t('twoFactor.enrol.confirm')}
					/>
					<Form method="post">
						<CsrfInput />
						<button type="submit" name="intent" value="cancel" className="secondary">
							{t('twoFactor.enrol.cancel')}
						</button>
					</Form>
				</section>
			) : null}
			{enabledAt ? (
				<>
					<section className="card" aria-labelledby="recovery-codes-title">
						<h2 id="recovery-codes-title">{t('twoFactor.recovery.title')}</h2>
						<p>{t('twoFactor.recovery.left', { count: recoveryCodesLeft })}</p>
						<p className="muted">{t('twoFactor.recovery.regenerateHint')}</p>
						<CodeForm intent="regenerate" label={t('twoFactor.code')} numeric submit={t('twoFactor.recovery.regenerate')} />
					</section>
					{required ? null : (
						<section className="card" aria-labelledby="disable-title">
							<h2 id="disable-title">{t('twoFactor.disable.title')}</h2>
							<CodeForm
								intent="disable"
								label={t('twoFactor.disable.code')}
								hint={t('twoFactor.disable.codeHint')}
								numeric={false}
								submit={t('twoFactor.disable.submit')}
								danger
							/>
						</section>
					)}
				</>
			) : null}
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
