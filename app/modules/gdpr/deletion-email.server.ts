import { composeEmail } from '#app/modules/email/compose.ts'
import type { EmailMessage } from '#app/modules/email/message.ts'
import { translate, type Locale } from '#app/modules/i18n/catalog.ts'

type T = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => string

/** The 6-digit code that confirms an account deletion (no link: the code is typed on the page that asked). */
export function deletionCodeEmail(input: { to: string; locale: Locale; code: string; minutes: number }): EmailMessage {
	const t: T = (key, vars) => translate(input.locale, key, vars)
	return composeEmail({
		to: input.to,
		locale: input.locale,
		subject: t('accountDeletion.email.subject', { code: input.code }),
		greeting: t('login.email.greeting'),
		blocks: [
			{ kind: 'text', lines: [t('accountDeletion.email.body')] },
			{ kind: 'code', code: input.code },
			{ kind: 'note', lines: [t('accountDeletion.email.expiry', { minutes: input.minutes }), t('accountDeletion.email.ignore')] },
		],
	})
}

/** The last message to a former address: the account and its data are gone. */
export function accountDeletedEmail(input: { to: string; locale: Locale }): EmailMessage {
	const t: T = (key, vars) => translate(input.locale, key, vars)
	return composeEmail({
		to: input.to,
		locale: input.locale,
		subject: t('accountDeletion.email.doneSubject'),
		greeting: t('login.email.greeting'),
		blocks: [
			{ kind: 'text', lines: [t('accountDeletion.email.doneBody')] },
			{ kind: 'note', lines: [t('accountDeletion.email.doneInvoices')] },
		],
	})
}
