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
