import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { CodeField, Field } from '#app/components/ui/field.tsx'
import { getSessionUser } from '#app/modules/auth/session.server.ts'
import { completeSecondFactor, hasPendingSecondFactor } from '#app/modules/auth/two-factor-login.server.ts'
import { parseSecondFactorCode, TwoFactorError, twoFactorProblem } from '#app/modules/auth/two-factor.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { keepRetryAfter, retryAfterHeader } from '#app/modules/security/rate-limit.server.ts'
import { safeRedirect } from '#app/utils/redirect.ts'

export const meta: MetaFunction = () => [{ title: 'Double authentification — Renzo' }]
export const headers = keepRetryAfter

type Problem = { error: MessageKey; vars?: Record<string, number>; recovery: boolean }

export async function loader({ request }: LoaderFunctionArgs) {
	if (await getSessionUser(request)) throw redirect(safeRedirect(new URL(request.url).searchParams.get('redirectTo')))
	return { pending: await hasPendingSecondFactor(request) }
}

export async function action({ request }: ActionFunctionArgs) {
	const form = await request.formData()
	const recovery = form.has('recoveryCode')
	const code = parseSecondFactorCode(form.get(recovery ? 'recoveryCode' : 'code'))
	if (!code) return data<Problem>({ error: 'twoFactor.error.codeFormat', recovery }, { status: 400 })
	try {
		const { headers } = await completeSecondFactor(request, code)
		return redirect(safeRedirect(new URL(request.url).searchParams.get('redirectTo')), { headers })
	} catch (error) {
		if (!(error instanceof TwoFactorError)) throw error
		const { status, ...problem } = twoFactorProblem(error.failure)
		const headers = error.failure.reason === 'locked' ? retryAfterHeader(error.failure.retryAfterSeconds) : undefined
		return data<Problem>({ ...problem, recovery }, { status, headers })
	}
}

export default function SecondFactorPage() {
	const { pending } = useLoaderData<typeof loader>()
	const problem = useActionData<typeof action>()
	const t = useT()
	const dead = !pending || problem?.error === 'twoFactor.error.locked' || problem?.error === 'twoFactor.error.expired'
	const message = problem ? t(problem.error, problem.vars) : null
	return (
		<div className="narrow card">
			<h1>{t('twoFactor.login.title')}</h1>
			{dead ? (
				<>
					<p className={problem ? 'alert alert-error' : undefined} role={problem ? 'alert' : undefined}>
						{message ?? t('twoFactor.login.noPending')}
					</p>
					<p>
						<Link to="/login">{t('twoFactor.login.restart')}</Link>
					</p>
				</>
			) : (
				<>
					<p>{t('twoFactor.login.intro')}</p>
					<Form method="post" noValidate>
						<CsrfInput />
						<CodeField
							label={t('twoFactor.code')}
							hint={t('twoFactor.codeHint')}
							autoFocus
							error={problem && !problem.recovery ? message : null}
						/>
						<button type="submit">{t('twoFactor.login.submit')}</button>
					</Form>
					<details open={problem?.recovery}>
						<summary>{t('twoFactor.login.useRecovery')}</summary>
						<Form method="post" noValidate>
							<CsrfInput />
							<Field
								label={t('twoFactor.login.recoveryCode')}
								hint={t('twoFactor.login.recoveryHint')}
								name="recoveryCode"
								autoComplete="off"
								autoCapitalize="none"
								spellCheck={false}
								maxLength={20}
								required
								error={problem?.recovery ? message : null}
							/>
							<button type="submit" className="secondary">
								{t('twoFactor.login.recoverySubmit')}
							</button>
						</Form>
					</details>
				</>
			)}
		</div>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
