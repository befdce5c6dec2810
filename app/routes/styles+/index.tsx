import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from '@remix-run/react'
import { useId } from 'react'
import { ConfirmDelete } from '#app/components/confirm-delete.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { Field } from '#app/components/ui/field.tsx'
import { requireUser } from '#app/modules/auth/session.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import {
	createStyle,
	deleteStyle,
	EXAMPLE_MAX_BYTES,
	getStyle,
	listStyles,
	readStyleForm,
	updateStyle,
	type StyleFieldErrors,
} from '#app/modules/styles/styles.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

// One page: the list and the "new style" form at /styles; one style's edit form at /styles?style=<id>.
// Actions on a style name it in the same `style` query parameter (ConfirmDelete posts to the current URL).

export const meta: MetaFunction = () => [{ title: 'Mes styles — Renzo' }]

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const styleId = new URL(request.url).searchParams.get('style')
	const selected = styleId === null ? null : await getStyle(user.id, styleId)
	if (styleId !== null && !selected) throw new Response('Not found', { status: 404 })
	const limits = { mb: Math.round(EXAMPLE_MAX_BYTES / 1024 / 1024), mp: Math.round(getEnv().IMAGE_MAX_PIXELS / 1_000_000) }
	return { styles: selected ? [] : await listStyles(user.id), selected, limits }
}

export async function action({ request }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const styleId = new URL(request.url).searchParams.get('style')
	// Before the body is read: someone else's style is a 404 whatever the form holds.
	if (styleId !== null && !(await getStyle(user.id, styleId))) throw new Response('Not found', { status: 404 })
	const form = await readStyleForm(request)
	const intent = form.fields.intent
	const invalid = (errors: StyleFieldErrors) =>
		data({ errors, values: { name: form.fields.name ?? '', prompt: form.fields.prompt ?? '' } }, { status: 400 })
	if (intent === 'create') {
		const result = await createStyle(user.id, form)
		if (!result.ok) return invalid(result.errors)
		return redirectWithToast('/styles', { key: 'styles.created', type: 'success' })
	}
	if (styleId !== null && intent === 'update') {
		const result = await updateStyle(user.id, styleId, form)
		if (!result) throw new Response('Not found', { status: 404 })
		if (!result.ok) return invalid(result.errors)
		return redirectWithToast('/styles', { key: 'styles.saved', type: 'success' })
	}
	if (styleId !== null && intent === 'delete') {
		if (form.fields.confirm !== 'yes') return data({ errors: {}, confirm: true }, { status: 400 })
		if (!(await deleteStyle(user.id, styleId))) throw new Response('Not found', { status: 404 })
		return redirectWithToast('/styles', { key: 'styles.deleted', type: 'success' })
	}
	throw new Response('Unknown intent', { status: 400 })
}

export default function StylesPage() {
	const { styles, selected, limits } = useLoaderData<typeof loader>()
	const actionData = useActionData<typeof action>()
	const t = useT()
	const errors: StyleFieldErrors | undefined = actionData?.errors
	const values = actionData && 'values' in actionData ? actionData.values : undefined
	if (selected)
		return (
			<>
				<p>
					<Link to="/styles">← {t('styles.back')}</Link>
				</p>
				<h1>{t('styles.editTitle', { name: selected.name })}</h1>
				<section className="card">
					<StyleForm
						styleId={selected.id}
						submitLabel={t('styles.save')}
						defaults={values ?? selected}
						example={selected.example}
						errors={errors}
						limits={limits}
					/>
				</section>
				<ConfirmDelete
					title={t('styles.delete')}
					question={t('styles.deleteConfirm')}
					confirmLabel={t('styles.deleteConfirmLabel')}
					open={Boolean(actionData && 'confirm' in actionData)}
				/>
			</>
		)
	return (
		<>
			<h1>{t('styles.title')}</h1>
			<p className="muted">{t('styles.intro')}</p>
			{styles.length === 0 ? (
				<div className="empty">
					<h2>{t('styles.empty.title')}</h2>
					<p className="muted">{t('styles.empty.text')}</p>
				</div>
			) : (
				<ul className="grid list">
					{styles.map((style) => (
						<li key={style.id} className="card project-card">
							{style.example ? (
								<img src={style.example.url} alt={t('styles.exampleAlt', { name: style.name })} className="cover" loading="lazy" />
							) : (
								<div className="cover cover-empty" aria-hidden="true">
									{t('styles.noExample')}
								</div>
							)}
							<h3>{style.name}</h3>
							<p className="muted">{style.prompt}</p>
							<p>
								<Link to={`/styles?style=${style.id}`} aria-label={t('styles.editNamed', { name: style.name })}>
									{t('styles.edit')}
								</Link>
							</p>
						</li>
					))}
				</ul>
			)}
			<section className="card" aria-labelledby="new-style">
				<h2 id="new-style">{t('styles.new')}</h2>
				<StyleForm submitLabel={t('styles.create')} defaults={values} errors={errors} limits={limits} />
			</section>
		</>
	)
}

/**
 * Create (no styleId) or edit form. Multipart for the example photo: the central CSRF check
 * reads such a form's token from the action URL, as a form without JavaScript cannot set a header.
 */
function StyleForm({
	styleId,
	submitLabel,
	defaults,
	example,
	errors,
	limits,
}: {
	styleId?: string
	submitLabel: string
	defaults?: { name: string; prompt: string }
	example?: { url: string } | null
	errors?: StyleFieldErrors
	limits: { mb: number; mp: number }
}) {
	const t = useT()
	const id = useId()
	const root = useRouteLoaderData('root') as { csrfToken?: string } | undefined
	const query = new URLSearchParams({ ...(styleId ? { style: styleId } : {}), csrf: root?.csrfToken ?? '' })
	const message = (key: MessageKey | undefined) => (key ? t(key, limits) : null)
	const promptError = message(errors?.prompt)
	return (
		<Form method="post" encType="multipart/form-data" action={`/styles?index&${query}`} noValidate>
			<input type="hidden" name="intent" value={styleId ? 'update' : 'create'} />
			<Field
				label={t('styles.name')}
				hint={t('styles.nameHint')}
				name="name"
				required
				maxLength={60}
				defaultValue={defaults?.name ?? ''}
				error={message(errors?.name)}
			/>
			<div className="field">
				<label htmlFor={`${id}-prompt`}>{t('styles.prompt')}</label>
				<p className="field-hint" id={`${id}-prompt-hint`}>
					{t('styles.promptHint')}
				</p>
				<textarea
					id={`${id}-prompt`}
					name="prompt"
					rows={4}
					required
					minLength={10}
					maxLength={500}
					defaultValue={defaults?.prompt ?? ''}
					aria-invalid={promptError ? true : undefined}
					aria-describedby={[`${id}-prompt-hint`, promptError ? `${id}-prompt-error` : null].filter(Boolean).join(' ')}
				/>
				{promptError ? (
					<p className="field-error" id={`${id}-prompt-error`} role="alert">
						{promptError}
					</p>
				) : null}
			</div>
			{example ? (
				<div className="project-card">
					<img src={example.url} alt={t('styles.exampleAlt', { name: defaults?.name ?? '' })} className="cover" />
					<p>
						<input type="checkbox" id={`${id}-remove`} name="removeExample" value="yes" />{' '}
						<label htmlFor={`${id}-remove`}>{t('styles.removeExample')}</label>
					</p>
				</div>
			) : null}
			<Field
				label={example ? t('styles.exampleReplace') : t('styles.example')}
				hint={t('styles.exampleHint', limits)}
				type="file"
				name="example"
				accept="image/jpeg,image/png,image/webp"
				error={message(errors?.example)}
			/>
			<button type="submit">{submitLabel}</button>
		</Form>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
