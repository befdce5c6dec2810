import type { Locale } from '#app/modules/i18n/catalog.ts'
import { escapeHtml, type EmailMessage } from './message.ts'

/** One part of an email, rendered both as plain text and as HTML. */
export type EmailBlock =
	| { kind: 'text'; lines: string[] }
	/** Smaller, muted: expiry notes, "ignore this email", what stays. */
	| { kind: 'note'; lines: string[] }
	| { kind: 'button'; label: string; link: string }
	/** A 6-digit code, big and spaced ("123 456"), spelt digit by digit for screen readers. */
	| { kind: 'code'; code: string }

function textOf(block: EmailBlock) {
	if (block.kind === 'button') return `${block.label} : ${block.link}`
	if (block.kind === 'code') return `    ${block.code}`
	return block.lines.join('\n')
}

function htmlOf(block: EmailBlock) {
	switch (block.kind) {
		case 'text':
			return `<p>${block.lines.map(escapeHtml).join('<br>')}</p>`
		case 'note':
			return `<p style="color:#57534e;font-size:14px">${block.lines.map(escapeHtml).join('<br>')}</p>`
		case 'button':
			return `<p style="margin:24px 0"><a href="${escapeHtml(block.link)}" style="background:#1f4e79;color:#ffffff;padding:12px 20px;border-radius:8px;text-decoration:none;font-weight:bold">${escapeHtml(block.label)}</a></p>`
		case 'code':
			return `<p style="font-size:32px;letter-spacing:6px;font-weight:bold;font-family:Menlo,Consolas,monospace" aria-label="${escapeHtml(block.code.split('').join(' '))}">${escapeHtml(`${block.code.slice(0, 3)} ${block.code.slice(3)}`)}</p>`
	}
}

/**
 * Every Renzo email has the same frame: a greeting, the blocks, a signature; inline styles only
 * (mail clients drop <style>), everything escaped.
 */
export function composeEmail(input: { to: string; locale: Locale; subject: string; greeting: string; blocks: EmailBlock[] }): EmailMessage {
	const text = [input.greeting, ...input.blocks.map(textOf), '— Renzo'].join('\n\n')
	const html = `<!doctype html><html lang="${input.locale}"><body style="margin:0;padding:24px;background:#f6f5f2;font-family:Arial,Helvetica,sans-serif;color:#1c1b19">
<table role="presentation" width="100%" style="max-width:520px;margin:0 auto;background:#ffffff;border-radius:12px;padding:28px"><tr><td>
<p style="font-size:20px;font-weight:bold;margin:0 0 16px">Renzo</p>
<p>${escapeHtml(input.greeting)}</p>
${input.blocks.map(htmlOf).join('\n')}
</td></tr></table></body></html>`
	return { to: input.to, subject: input.subject, text, html }
}
