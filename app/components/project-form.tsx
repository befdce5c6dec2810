import { Form } from '@remix-run/react'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { CsrfInput } from './csrf-input.tsx'
import { Field } from './ui/field.tsx'

export type ProjectFieldErrors = Partial<Record<'name' | 'address' | 'reference', MessageKey>>

/** Name, address and reference of a listing: creation and editing share this form. */
export function ProjectForm({
	intent,
	submitLabel,
	defaults,
	errors,
}: {
	intent: string
	submitLabel: string
	defaults?: { name?: string | null; address?: string | null; reference?: string | null }
	errors?: ProjectFieldErrors
}) {
	const t = useT()
	const optional = ` (${t('projects.optional')})`
	return (
		<Form method="post" noValidate>
			<CsrfInput />
			<input type="hidden" name="intent" value={intent} />
			<Field
				label={t('projects.name')}
				hint={t('projects.nameHint')}
				name="name"
				required
				maxLength={120}
				defaultValue={defaults?.name ?? ''}
				error={errors?.name ? t(errors.name) : null}
			/>
			<Field
				label={t('projects.address') + optional}
				name="address"
				autoComplete="street-address"
				maxLength={300}
				defaultValue={defaults?.address ?? ''}
				error={errors?.address ? t(errors.address) : null}
			/>
			<Field
				label={t('projects.reference') + optional}
				name="reference"
				maxLength={60}
				defaultValue={defaults?.reference ?? ''}
				error={errors?.reference ? t(errors.reference) : null}
			/>
			<button type="submit">{submitLabel}</button>
		</Form>
	)
}
