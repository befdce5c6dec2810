/** An email ready to send. */
export type EmailMessage = { to: string; subject: string; text: string; html: string }

/** Escapes text for HTML bodies. */
export function escapeHtml(value: string) {
	return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}
