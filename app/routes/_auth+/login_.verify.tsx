import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { CodeField } from '#app/components/ui/field.tsx'
import { completeLogin } from '#app/modules/auth/authenticator.server.ts'
import { LoginError, readPendingLogin, type LoginFailure } from '#app/modules/auth/login.server.ts'
import { TWO_FACTOR_SETTINGS_PATH } from '#app/modules/auth/two-factor.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { keepRetryAfter, retryAfterHeader } from '#app/modules/security/rate-limit.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { safeRedirect } from '#app/utils/redirect.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction = () => [{ title: 'Vérifiez vos e-mails — Renzo' }]
export const headers = keepRetryAfter

type Problem = { error: MessageKey; vars?: Record<string, number> }

function problemOf(failure: LoginFailure): Problem {
	switch (failure.reason) {
		case 'invalid_code':
			return failure.remaining === 1
				? { error: 'login.error.invalidCodeLast' }
				: { error: 'login.error.invalidCode', vars: { remaining: failure.remaining } }
		case 'locked':
			return { error: 'login.error.locked' }
		case 'other_browser':
			return { error: 'login.error.otherBrowser' }
		case 'deletion_pending':
			return { error: 'accountDeletion.loginRefused' }
		case 'rate_limited':
			return { error: 'login.error.rateLimited', vars: { minutes: Math.ceil(failure.retryAfterSeconds / 60) } }
		default:
			return { error: 'login.error.expired' }
	}
}

/**
 * Logs in and goes where the user was heading; the first login lands with a welcome. With
 * two-factor on, the authenticator code comes first; an admin who must have it sets it up first.
 */
async function finish(request: Request) {
	const { user, headers, secondFactor, mustEnrol } = await completeLogin(request)
	const to = safeRedirect(new URL(request.url).searchParams.get('redirectTo'))
	if (secondFactor) return redirect(to === '/' ? '/login/2fa' : `/login/2fa?${new URLSearchParams({ redirectTo: to })}`, { headers })
	if (mustEnrol) return redirect(TWO_FACTOR_SETTINGS_PATH, { headers })
	const credits = getEnv().WELCOME_CREDITS
	if (user.created && credits > 0)
		return redirectWithToast(to, { key: 'dashboard.welcome', type: 'success', vars: { count: credits } }, { headers })
	return redirect(to, { headers })
}

export async function loader({ request }: LoaderFunctionArgs) {
	const pending = await readPendingLogin(request)
	const minutes = getEnv().LOGIN_CODE_TTL_MINUTES
	if (new URL(request.url).searchParams.has('token')) {
		try {
			return await finish(request)
		} catch (error) {
			if (error instanceof LoginError) return data({ email: pending?.email ?? null, minutes, ...problemOf(error.failure) }, { status: 400 })
			throw error
		}
	}
	return { email: pending?.email ?? null, minutes }
}

export async function action({ request }: ActionFunctionArgs) {
	const code = String((await request.clone().formData()).get('code') ?? '').replace(/\s+/g, '')
	if (!/^\d{6}$/.test(code)) return data<Problem>({ error: 'login.error.codeFormat' }, { status: 400 })
	try {
		return await finish(request)
	} catch (error) {
		// A locked code never works again (a new email can be asked at once); Retry-After covers the life of any code sent so far.
		if (error instanceof LoginError && error.failure.reason === 'locked')
			return data<Problem>(problemOf(error.failure), { status: 429, headers: retryAfterHeader(getEnv().LOGIN_CODE_TTL_MINUTES * 60) })
		if (error instanceof LoginError) return data<Problem>(problemOf(error.failure), { status: 400 })
		throw error
	}
}

export default function VerifyPage() {
	const loaderData = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	const problem: Problem | null = actionData ?? ('error' in loaderData ? loaderData : null)
	const dead =
		problem?.error === 'login.error.locked' || problem?.error === 'login.error.expired' || problem?.error === 'accountDeletion.loginRefused'
	return (
		<div className="narrow card">
			<h1>{t('login.verify.title')}</h1>
			{loaderData.email ? (
				<p>{t('login.verify.sent', { email: loaderData.email, minutes: loaderData.minutes })}</p>
			) : !problem ? (
				<p>{t('login.verify.noPending')}</p>
			) : null}
			{problem && (dead || !loaderData.email) ? (
				<p className="alert alert-error" role="alert">
					{t(problem.error, problem.vars)}
				</p>
			) : null}
			{loaderData.email && !dead ? (
				<Form method="post" noValidate>
					<CsrfInput />
					<CodeField
						label={t('login.verify.code')}
						hint={t('login.verify.codeHint')}
						autoFocus
						error={problem ? t(problem.error, problem.vars) : null}
					/>
					<button type="submit">{t('login.verify.submit')}</button>
				</Form>
			) : null}
			<p>
				<Link to="/login">{t('login.verify.resend')}</Link>
			</p>
		</div>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
