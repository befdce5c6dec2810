import { composeEmail } from '#app/modules/email/compose.ts'
import type { EmailMessage } from '#app/modules/email/message.ts'
import { translate, type Locale } from '#app/modules/i18n/catalog.ts'

/** "Your data export is ready": the link leads to the session-checked download route. */
export function exportReadyEmail(input: { to: string; locale: Locale; link: string; sizeMb: string; hours: number }): EmailMessage {
	const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate(input.locale, key, vars)
	return composeEmail({
		to: input.to,
		locale: input.locale,
		subject: t('gdpr.email.subject'),
		greeting: t('login.email.greeting'),
		blocks: [
			{ kind: 'text', lines: [t('gdpr.email.body', { size: input.sizeMb })] },
			{ kind: 'button', label: t('gdpr.email.button'), link: input.link },
			{ kind: 'note', lines: [t('gdpr.email.expiry', { hours: input.hours })] },
		],
	})
}
