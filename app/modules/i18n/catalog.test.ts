import { describe, expect, test } from 'vitest'
import { catalogs, translate } from './catalog.ts'

describe('i18n catalog', () => {
	test('English has every French key, with the same placeholders', () => {
		for (const [key, french] of Object.entries(catalogs.fr)) {
			const english = catalogs.en[key as keyof typeof catalogs.fr]
			expect(english, key).toBeTruthy()
			const placeholders = (text: string) => (text.match(/\{\w+\}/g) ?? []).sort()
			expect(placeholders(english), key).toEqual(placeholders(french))
		}
	})

	test('placeholders are filled', () => {
		expect(translate('fr', 'login.error.invalidCode', { remaining: 2 })).toBe('Code incorrect. Il vous reste 2 essais.')
	})
})
