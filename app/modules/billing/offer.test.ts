import { describe, expect, test } from 'vitest'
import { defaultOffer, OfferConfigError, resolveOffer } from './offer.server.ts'

describe('billing offer', () => {
	test('the default offer sells packs and plans in euros; BILLING_OFFER replaces it whole', () => {
		expect(resolveOffer(undefined)).toBe(defaultOffer)
		expect(defaultOffer.packs.length).toBeGreaterThan(0)
		expect(defaultOffer.plans.length).toBeGreaterThan(0)
		const custom = resolveOffer(
			JSON.stringify({
				packs: [{ id: 'mini', name: { fr: 'Mini', en: 'Mini' }, credits: 5, priceCents: 500 }],
				plans: [],
			}),
		)
		expect(custom).toEqual({
			currency: 'eur',
			packs: [{ id: 'mini', name: { fr: 'Mini', en: 'Mini' }, credits: 5, priceCents: 500 }],
			plans: [],
		})
	})

	test('a bad offer is refused with a message naming the field', () => {
		expect(() => resolveOffer('{')).toThrow(OfferConfigError)
		expect(() =>
			resolveOffer(JSON.stringify({ packs: [{ id: 'Bad Id', name: { fr: 'x', en: 'x' }, credits: 5, priceCents: 500 }], plans: [] })),
		).toThrow(/packs\.0\.id/)
		expect(() =>
			resolveOffer(JSON.stringify({ packs: [{ id: 'a1', name: { fr: 'x', en: 'x' }, credits: 0, priceCents: 500 }], plans: [] })),
		).toThrow(/credits/)
		const twice = { id: 'same', name: { fr: 'x', en: 'x' } }
		expect(() =>
			resolveOffer(
				JSON.stringify({ packs: [{ ...twice, credits: 1, priceCents: 100 }], plans: [{ ...twice, creditsPerMonth: 1, priceCents: 100 }] }),
			),
		).toThrow(/unique/)
	})
})
