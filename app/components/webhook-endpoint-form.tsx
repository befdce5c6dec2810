import { Form } from '@remix-run/react'
import { useId, type ReactNode } from 'react'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '#app/modules/webhooks-out/events.ts'
import { CsrfInput } from './csrf-input.tsx'
import { Field } from './ui/field.tsx'

type Errors = Partial<Record<'url' | 'description' | 'events', MessageKey>>

/** The endpoint form (create and edit): URL, description, events; errors next to their field. */
export function WebhookEndpointForm({
	intent,
	submit,
	threshold,
	errors,
	defaults,
}: {
	intent: 'create' | 'update'
	submit: string
	threshold: number
	errors?: Errors | null
	defaults?: { url: string; description: string | null; events: WebhookEventType[] }
}) {
	const t = useT()
	const eventsId = useId()
	const chosen = new Set<string>(defaults?.events ?? WEBHOOK_EVENT_TYPES)
	return (
		<Form method="post" noValidate>
			<CsrfInput />
			<Field
				label={t('webhooks.url')}
				hint={t('webhooks.urlHint')}
				name="url"
				type="url"
				inputMode="url"
				autoComplete="url"
				spellCheck={false}
				required
				maxLength={2000}
				defaultValue={defaults?.url}
				error={errors?.url ? t(errors.url) : null}
			/>
			<Field
				label={t('webhooks.description')}
				hint={t('webhooks.descriptionHint')}
				name="description"
				maxLength={200}
				defaultValue={defaults?.description ?? undefined}
				error={errors?.description ? t(errors.description) : null}
			/>
			<fieldset className="choice-list" aria-describedby={errors?.events ? eventsId : undefined}>
				<legend>{t('webhooks.events')}</legend>
				{WEBHOOK_EVENT_TYPES.map((type) => (
					<label key={type} className="choice">
						<input type="checkbox" name="events" value={type} defaultChecked={chosen.has(type)} />
						<span>
							<strong>{t(`webhooks.event.${type}`)}</strong>
							<span className="muted">{t(`webhooks.event.${type}Hint`, { threshold })}</span>
						</span>
					</label>
				))}
				{errors?.events ? (
					<p className="field-error" id={eventsId} role="alert">
						{t(errors.events)}
					</p>
				) : null}
			</fieldset>
			<button type="submit" name="intent" value={intent}>
				{submit}
			</button>
		</Form>
	)
}

/** The signing secret, shown once right after it was generated. */
export function WebhookSecret({ secret, children }: { secret: string; children?: ReactNode }) {
	const t = useT()
	return (
		<section className="card" aria-labelledby="webhook-secret-title" role="alert">
			<h2 id="webhook-secret-title">{t('webhooks.secret.title')}</h2>
			<p>{t('webhooks.secret.once')}</p>
			<p className="mail">
				<code>{secret}</code>
			</p>
			{children}
		</section>
	)
}
