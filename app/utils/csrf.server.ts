import crypto from 'node:crypto'
import { safeEqual } from './crypto.server.ts'

/**
 * CSRF (decision 006): a random token in an httpOnly SameSite=Lax cookie, echoed by every form
 * in a hidden `csrf` field (or the X-CSRF-Token header). server.ts checks it for EVERY
 * mutation before Remix sees the request, so a route cannot forget it.
 */
export const CSRF_COOKIE = '__csrf'
export const CSRF_FIELD = 'csrf'
export const CSRF_HEADER = 'x-csrf-token'

export function readCookie(header: string | undefined | null, name: string) {
	for (const part of (header ?? '').split(';')) {
		const index = part.indexOf('=')
		if (index > 0 && part.slice(0, index).trim() === name) return decodeURIComponent(part.slice(index + 1).trim())
	}
	return null
}

export function newCsrfToken() {
	return crypto.randomBytes(32).toString('base64url')
}

export function csrfCookie(token: string, secure: boolean) {
	return `${CSRF_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
}

/** True when the submitted token matches the cookie's. */
export function csrfMatches(cookieToken: string | null, submitted: string | null) {
	return Boolean(cookieToken && submitted && cookieToken.length >= 32 && safeEqual(cookieToken, submitted))
}
