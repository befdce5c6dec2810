/**
 * One area's messages, French first: English must have exactly the same keys (checked by the
 * type), and catalog.test.ts checks the placeholders match.
 */
export function defineMessages<const F extends Record<string, string>>(fr: F, en: { [K in keyof F]: string }) {
	return { fr, en }
}
