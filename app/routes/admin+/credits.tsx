import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { Field } from '#app/components/ui/field.tsx'
import { adjustCredits, adjustmentSchema, findAccount } from '#app/modules/admin/credits.server.ts'
import { requireAdmin } from '#app/modules/auth/session.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction = () => [{ title: 'Ajuster les crédits — Renzo' }]

type ActionData = {
	errors: { delta?: MessageKey; note?: MessageKey; form?: MessageKey }
	vars?: Record<string, number>
	values: { delta: string; note: string }
}

// Admins only: anyone else, logged in or not, gets the ordinary 404 page.
export async function loader({ request }: LoaderFunctionArgs) {
	await requireAdmin(request)
	const query = new URL(request.url).searchParams.get('email')?.trim() ?? ''
	// A fresh idempotency key per rendered form (see adjustmentSchema).
	const key = crypto.randomUUID()
	if (!query) return { query, invalid: false, account: null, key }
	const found = await findAccount(query)
	if ('invalid' in found) return { query, invalid: true, account: null, key }
	return { query: found.email, invalid: false, account: found.account, key }
}

export async function action({ request }: ActionFunctionArgs) {
	const admin = await requireAdmin(request)
	const form = await request.formData()
	const values = { delta: String(form.get('delta') ?? '').trim(), note: String(form.get('note') ?? '') }
	const parsed = adjustmentSchema.safeParse({ userId: form.get('userId'), key: form.get('key'), delta: values.delta, note: values.note })
	if (!parsed.success) {
		const fields = new Set(parsed.error.issues.map((issue) => issue.path[0]))
		if (fields.has('userId') || fields.has('key')) throw new Response('Bad request', { status: 400 })
		const errors: ActionData['errors'] = {}
		if (fields.has('delta') || values.delta === '') errors.delta = 'admin.credits.error.delta'
		if (fields.has('note')) errors.note = 'admin.credits.error.note'
		return data<ActionData>({ errors, values }, { status: 400 })
	}
	const { userId, key, delta, note } = parsed.data
	const outcome = await adjustCredits({ adminId: admin.id, userId, delta, note, key, request })
	if (!outcome.ok) {
		const field = outcome.error === 'admin.credits.error.negative' ? 'delta' : 'form'
		return data<ActionData>({ errors: { [field]: outcome.error }, vars: outcome.vars, values }, { status: 400 })
	}
	const back = `/admin/credits?${new URLSearchParams({ email: String(form.get('email') ?? '') })}`
	if (!outcome.applied) return redirectWithToast(back, { key: 'admin.credits.already', type: 'success' })
	return redirectWithToast(back, {
		key: 'admin.credits.done',
		type: 'success',
		vars: { delta: delta > 0 ? `+${delta}` : String(delta), balance: outcome.balanceAfter ?? 0 },
	})
}

export default function AdminCreditsPage() {
	const { query, invalid, account, key } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const navigation = useNavigation()
	const t = useT()
	const error = (field: 'delta' | 'note' | 'form') => {
		const message = actionData?.errors[field]
		return message ? t(message, actionData.vars) : null
	}
	return (
		<>
			<h1>{t('admin.credits.title')}</h1>
			<p>{t('admin.credits.intro')}</p>
			<section className="card">
				<Form method="get">
					<Field
						label={t('admin.credits.email')}
						name="email"
						type="email"
						autoComplete="off"
						inputMode="email"
						required
						defaultValue={query}
						error={invalid ? t('admin.credits.error.email') : null}
					/>
					<button type="submit">{t('admin.credits.search')}</button>
				</Form>
				{query && !invalid && !account ? (
					<p className="alert alert-error" role="status">
						{t('admin.credits.notFound', { email: query })}
					</p>
				) : null}
			</section>
			{account ? (
				<section className="card" aria-labelledby="account-title">
					<h2 id="account-title">{t('admin.credits.account', { email: account.email })}</h2>
					<p>
						<strong>{t('admin.credits.balance', { count: account.creditBalance })}</strong>
					</p>
					{error('form') ? (
						<p className="alert alert-error" role="alert">
							{error('form')}
						</p>
					) : null}
					<Form method="post" noValidate>
						<CsrfInput />
						<input type="hidden" name="userId" value={account.id} />
						<input type="hidden" name="email" value={account.email} />
						<input type="hidden" name="key" value={key} />
						<Field
							label={t('admin.credits.delta')}
							hint={t('admin.credits.deltaHint')}
							name="delta"
							inputMode="text"
							pattern="-?[0-9]+"
							autoComplete="off"
							required
							defaultValue={actionData?.values.delta}
							error={error('delta')}
						/>
						<Field
							label={t('admin.credits.note')}
							hint={t('admin.credits.noteHint')}
							name="note"
							maxLength={500}
							autoComplete="off"
							required
							defaultValue={actionData?.values.note}
							error={error('note')}
						/>
						<button type="submit" disabled={navigation.state === 'submitting'}>
							{t('admin.credits.submit')}
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
