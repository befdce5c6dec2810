import { createCookie } from '@remix-run/node'
import { defaultLocale, isLocale, translate, type Locale, type Translate } from './catalog.ts'

/** Remembers the language chosen before login (the account stores it after). */
export const localeCookie = createCookie('lang', { path: '/', sameSite: 'lax', httpOnly: true, maxAge: 60 * 60 * 24 * 365 })

/** The locale for this request: the user's stored one, else the cookie, else Accept-Language (French first). */
export async function resolveLocale(request: Request, userLocale?: string | null): Promise<Locale> {
	if (isLocale(userLocale)) return userLocale
	const fromCookie: unknown = await localeCookie.parse(request.headers.get('Cookie'))
	if (isLocale(fromCookie)) return fromCookie
	const accepted = (request.headers.get('Accept-Language') ?? '')
		.split(',')
		.map((part) => part.split(';')[0]!.trim().slice(0, 2).toLowerCase())
	return accepted.find(isLocale) ?? defaultLocale
}

/** A translate function bound to `locale`. */
export function translator(locale: Locale): Translate {
	return (key, vars) => translate(locale, key, vars)
}
