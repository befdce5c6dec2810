import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { z } from 'zod'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { Field } from '#app/components/ui/field.tsx'
import { emailSchema, LoginError, requestLogin } from '#app/modules/auth/login.server.ts'
import { getSessionUser } from '#app/modules/auth/session.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { resolveLocale } from '#app/modules/i18n/locale.server.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { keepRetryAfter } from '#app/modules/security/rate-limit.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { safeRedirect } from '#app/utils/redirect.ts'

export const meta: MetaFunction = () => [{ title: 'Connexion — Renzo' }]
export const headers = keepRetryAfter

const LoginForm = z.object({ email: emailSchema, redirectTo: z.string().optional() })

export async function loader({ request }: LoaderFunctionArgs) {
	const redirectTo = safeRedirect(new URL(request.url).searchParams.get('redirectTo'))
	if (await getSessionUser(request)) throw redirect(redirectTo)
	return { redirectTo, welcomeCredits: getEnv().WELCOME_CREDITS }
}

type ActionData = { error: MessageKey; vars?: Record<string, number>; email: string }

export async function action({ request }: ActionFunctionArgs) {
	const form = await request.formData()
	const parsed = LoginForm.safeParse({ email: form.get('email'), redirectTo: form.get('redirectTo') ?? undefined })
	if (!parsed.success) {
		return data<ActionData>({ error: 'login.error.email', email: String(form.get('email') ?? '').slice(0, 254) }, { status: 400 })
	}
	const redirectTo = safeRedirect(parsed.data.redirectTo)
	try {
		const cookie = await requestLogin({ email: parsed.data.email, locale: await resolveLocale(request), request, redirectTo })
		const next = redirectTo === '/' ? '/login/verify' : `/login/verify?${new URLSearchParams({ redirectTo })}`
		return redirect(next, { headers: { 'Set-Cookie': cookie } })
	} catch (error) {
		if (error instanceof LoginError && error.failure.reason === 'rate_limited') {
			const seconds = error.failure.retryAfterSeconds
			return data<ActionData>(
				{ error: 'login.error.rateLimited', vars: { minutes: Math.max(1, Math.ceil(seconds / 60)) }, email: parsed.data.email },
				{ status: 429, headers: { 'Retry-After': String(seconds) } },
			)
		}
		throw error
	}
}

export default function LoginPage() {
	const { redirectTo, welcomeCredits } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const navigation = useNavigation()
	const t = useT()
	return (
		<div className="narrow card">
			<h1>{t('login.title')}</h1>
			<p>{t('login.intro')}</p>
			<Form method="post" noValidate>
				<CsrfInput />
				<input type="hidden" name="redirectTo" value={redirectTo} />
				<Field
					label={t('login.email')}
					name="email"
					type="email"
					autoComplete="email"
					inputMode="email"
					required
					autoFocus
					defaultValue={actionData?.email}
					error={actionData ? t(actionData.error, actionData.vars) : null}
				/>
				<button type="submit" disabled={navigation.state === 'submitting'}>
					{t('login.submit')}
				</button>
			</Form>
			{welcomeCredits > 0 ? <p className="muted">{t('login.newAccount', { count: welcomeCredits })}</p> : null}
		</div>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
