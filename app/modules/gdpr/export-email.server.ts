import type { EmailMessage } from '#app/modules/email/message.ts'
import { escapeHtml } from '#app/modules/email/message.ts'
import { translate, type Locale } from '#app/modules/i18n/catalog.ts'

/** "Your data export is ready": the link leads to the session-checked download route. */
export function exportReadyEmail(input: { to: string; locale: Locale; link: string; sizeMb: string; hours: number }): EmailMessage {
	const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate(input.locale, key, vars)
	const text = [
		t('login.email.greeting'),
		'',
		t('gdpr.email.body', { size: input.sizeMb }),
		'',
		`${t('gdpr.email.button')} : ${input.link}`,
		'',
		t('gdpr.email.expiry', { hours: input.hours }),
		'',
		'— Renzo',
	].join('\n')
	const html = `<!doctype html><html lang="${input.locale}"><body style="margin:0;padding:24px;background:#f6f5f2;font-family:Arial,Helvetica,sans-serif;color:#1c1b19">
<table role="presentation" width="100%" style="max-width:520px;margin:0 auto;background:#ffffff;border-radius:12px;padding:28px"><tr><td>
<p style="font-size:20px;font-weight:bold;margin:0 0 16px">Renzo</p>
<p>${escapeHtml(t('login.email.greeting'))}</p>
<p>${escapeHtml(t('gdpr.email.body', { size: input.sizeMb }))}</p>
<p style="margin:24px 0"><a href="${escapeHtml(input.link)}" style="background:#1f4e79;color:#ffffff;padding:12px 20px;border-radius:8px;text-decoration:none;font-weight:bold">${escapeHtml(t('gdpr.email.button'))}</a></p>
<p style="color:#57534e;font-size:14px">${escapeHtml(t('gdpr.email.expiry', { hours: input.hours }))}</p>
</td></tr></table></body></html>`
	return { to: input.to, subject: t('gdpr.email.subject'), text, html }
}
