import { composeEmail } from '#app/modules/email/compose.ts'
import type { EmailMessage } from '#app/modules/email/message.ts'
import { translate, type Locale } from '#app/modules/i18n/catalog.ts'

/** "We disabled your webhook": the endpoint kept failing; the link leads to its delivery log. */
export function endpointDisabledEmail(input: { to: string; locale: Locale; host: string; hours: number; link: string }): EmailMessage {
	const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate(input.locale, key, vars)
	return composeEmail({
		to: input.to,
		locale: input.locale,
		subject: t('webhooks.email.subject', { host: input.host }),
		greeting: t('login.email.greeting'),
		blocks: [
			{ kind: 'text', lines: [t('webhooks.email.body', { host: input.host, hours: input.hours })] },
			{ kind: 'text', lines: [t('webhooks.email.next')] },
			{ kind: 'button', label: t('webhooks.email.button'), link: input.link },
		],
	})
}
