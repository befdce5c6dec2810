import { createCookie, redirect } from '@remix-run/node'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'

// A one-shot message shown after a redirect (read and cleared by the root loader).
const toastCookie = createCookie('__toast', { path: '/', sameSite: 'lax', httpOnly: true, maxAge: 60 })

export type Toast = { key: MessageKey; type: 'success' | 'error'; vars?: Record<string, string | number> }

/** Redirects to `url` and shows the translated `toast` there. */
export async function redirectWithToast(url: string, toast: Toast, init: ResponseInit = {}) {
	const headers = new Headers(init.headers)
	headers.append('Set-Cookie', await toastCookie.serialize(toast))
	return redirect(url, { ...init, headers })
}

/** The pending toast of this request and the header that clears it. */
export async function readToast(request: Request): Promise<{ toast: Toast | null; clear: string | null }> {
	const value = (await toastCookie.parse(request.headers.get('Cookie'))) as Toast | null
	if (!value || typeof value.key !== 'string') return { toast: null, clear: null }
	return { toast: value, clear: await toastCookie.serialize('', { maxAge: 0 }) }
}
