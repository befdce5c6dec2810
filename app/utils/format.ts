import type { Locale } from '#app/modules/i18n/catalog.ts'

const tags: Record<Locale, string> = { fr: 'fr-FR', en: 'en-GB' }

/** A date and time in Paris time (same on server and client: no hydration mismatch). */
export function formatDateTime(value: string | Date, locale: Locale) {
	return new Intl.DateTimeFormat(tags[locale], { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Paris' }).format(
		new Date(value),
	)
}

/** A signed credit movement: +5, −2. */
export function formatDelta(delta: number, locale: Locale) {
	const n = new Intl.NumberFormat(tags[locale]).format(Math.abs(delta))
	return delta > 0 ? `+${n}` : delta < 0 ? `−${n}` : '0'
}

/** An amount in cents as money: 19,00 € / €19.00. */
export function formatMoney(cents: number, currency: string, locale: Locale) {
	return new Intl.NumberFormat(tags[locale], { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100)
}

/** A date in Paris time, without the time. */
export function formatDate(value: string | Date | number, locale: Locale) {
	return new Intl.DateTimeFormat(tags[locale], { dateStyle: 'medium', timeZone: 'Europe/Paris' }).format(new Date(value))
}
