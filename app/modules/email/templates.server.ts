import { translate, type Locale } from '#app/modules/i18n/catalog.ts'
import { escapeHtml, type EmailMessage } from './message.ts'

/** The login email: one message with the magic link AND the 6-digit code. */
export function loginEmail(input: { to: string; locale: Locale; code: string; link: string; minutes: number }): EmailMessage {
	const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate(input.locale, key, vars)
	const spacedCode = `${input.code.slice(0, 3)} ${input.code.slice(3)}`
	const text = [
		t('login.email.greeting'),
		'',
		t('login.email.body'),
		'',
		`    ${input.code}`,
		'',
		`${t('login.email.button')} : ${input.link}`,
		'',
		t('login.email.expiry', { minutes: input.minutes }),
		t('login.email.ignore'),
		'',
		'— Renzo',
	].join('\n')
	const html = `<!doctype html><html lang="${input.locale}"><body style="margin:0;padding:24px;background:#f6f5f2;font-family:Arial,Helvetica,sans-serif;color:#1c1b19">
<table role="presentation" width="100%" style="max-width:520px;margin:0 auto;background:#ffffff;border-radius:12px;padding:28px"><tr><td>
<p style="font-size:20px;font-weight:bold;margin:0 0 16px">Renzo</p>
<p>${escapeHtml(t('login.email.greeting'))}</p>
<p>${escapeHtml(t('login.email.body'))}</p>
<p style="margin:24px 0"><a href="${escapeHtml(input.link)}" style="background:#1f4e79;color:#ffffff;padding:12px 20px;border-radius:8px;text-decoration:none;font-weight:bold">${escapeHtml(t('login.email.button'))}</a></p>
<p style="font-size:32px;letter-spacing:6px;font-weight:bold;font-family:Menlo,Consolas,monospace" aria-label="${escapeHtml(input.code.split('').join(' '))}">${escapeHtml(spacedCode)}</p>
<p style="color:#57534e;font-size:14px">${escapeHtml(t('login.email.expiry', { minutes: input.minutes }))}<br>${escapeHtml(t('login.email.ignore'))}</p>
</td></tr></table></body></html>`
	return { to: input.to, subject: t('login.email.subject', { code: input.code }), text, html }
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
	const summary = t('transformations.email.summary', { succeeded: input.succeeded, failed: input.failed })
	const text = [
		t('login.email.greeting'),
		'',
		t('transformations.email.body', { project: input.projectName }),
		summary,
		'',
		`${t('transformations.email.button')} : ${input.link}`,
		'',
		'— Renzo',
	].join('\n')
	const html = `<!doctype html><html lang="${input.locale}"><body style="margin:0;padding:24px;background:#f6f5f2;font-family:Arial,Helvetica,sans-serif;color:#1c1b19">
<table role="presentation" width="100%" style="max-width:520px;margin:0 auto;background:#ffffff;border-radius:12px;padding:28px"><tr><td>
<p style="font-size:20px;font-weight:bold;margin:0 0 16px">Renzo</p>
<p>${escapeHtml(t('login.email.greeting'))}</p>
<p>${escapeHtml(t('transformations.email.body', { project: input.projectName }))}<br>${escapeHtml(summary)}</p>
<p style="margin:24px 0"><a href="${escapeHtml(input.link)}" style="background:#1f4e79;color:#ffffff;padding:12px 20px;border-radius:8px;text-decoration:none;font-weight:bold">${escapeHtml(t('transformations.email.button'))}</a></p>
</td></tr></table></body></html>`
	return { to: input.to, subject: t('transformations.email.subject', { project: input.projectName }), text, html }
}
