import { translate, type Locale } from '#app/modules/i18n/catalog.ts'
import { composeEmail } from './compose.ts'
import type { EmailMessage } from './message.ts'

/** The login email: one message with the magic link AND the 6-digit code. */
export function loginEmail(input: { to: string; locale: Locale; code: string; link: string; minutes: number }): EmailMessage {
	const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate(input.locale, key, vars)
	return composeEmail({
		to: input.to,
		locale: input.locale,
		subject: t('login.email.subject', { code: input.code }),
		greeting: t('login.email.greeting'),
		blocks: [
			{ kind: 'text', lines: [t('login.email.body')] },
			{ kind: 'button', label: t('login.email.button'), link: input.link },
			{ kind: 'code', code: input.code },
			{ kind: 'note', lines: [t('login.email.expiry', { minutes: input.minutes }), t('login.email.ignore')] },
		],
	})
}

/** "Your photos are ready": one email when a batch the user ordered with notification ends. */
export function batchDoneEmail(input: {
	to: string
	locale: Locale
	projectName: string
	succeeded: number
	failed: number
	link: string
}): EmailMessage {
	const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate(input.locale, key, vars)
	return composeEmail({
		to: input.to,
		locale: input.locale,
		subject: t('transformations.email.subject', { project: input.projectName }),
		greeting: t('login.email.greeting'),
		blocks: [
			{
				kind: 'text',
				lines: [
					t('transformations.email.body', { project: input.projectName }),
					t('transformations.email.summary', { succeeded: input.succeeded, failed: input.failed }),
				],
			},
			{ kind: 'button', label: t('transformations.email.button'), link: input.link },
		],
	})
}
