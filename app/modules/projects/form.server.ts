import type { ProjectFieldErrors } from '#app/components/project-form.tsx'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { ProjectFields, type ProjectInput } from './projects.server.ts'

/** Parses the project form; field errors are catalog keys shown next to each field. */
export function parseProjectForm(form: FormData): { ok: true; value: ProjectInput } | { ok: false; errors: ProjectFieldErrors } {
	const parsed = ProjectFields.safeParse({ name: form.get('name') ?? '', address: form.get('address'), reference: form.get('reference') })
	if (parsed.success) return { ok: true, value: parsed.data }
	const errors: ProjectFieldErrors = {}
	for (const issue of parsed.error.issues) {
		const field = issue.path[0] as keyof ProjectFieldErrors
		errors[field] ??= (issue.message.startsWith('projects.') ? issue.message : 'projects.error.nameRequired') as MessageKey
	}
	return { ok: false, errors }
}
