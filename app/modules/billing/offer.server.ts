import { z } from 'zod'
import { getEnv } from '#app/utils/env.server.ts'
import { parseJsonSetting } from '#app/utils/json-config.server.ts'

/**
 * What is on sale, in one place: credit packs (one-off payments) and monthly plans (credits
 * granted on every paid invoice). Prices are sent to Stripe inline at checkout (`price_data`),
 * so adding a pack is a configuration change (BILLING_OFFER), not a code change nor a
 * dashboard step. Ids are stable: they are stored on purchases and subscriptions.
 */

const label = z.object({ fr: z.string().min(1).max(60), en: z.string().min(1).max(60) })
const id = z.string().regex(/^[a-z0-9-]{2,40}$/, 'lowercase letters, digits and dashes')

export const packSchema = z.object({
	id,
	name: label,
	credits: z.number().int().min(1).max(100_000),
	/** Price including VAT handling by Stripe Tax, in cents of euro. */
	priceCents: z.number().int().min(50).max(10_000_000),
})
export const planSchema = z.object({
	id,
	name: label,
	creditsPerMonth: z.number().int().min(1).max(100_000),
	priceCents: z.number().int().min(50).max(10_000_000),
})
const offerSchema = z
	.object({ packs: z.array(packSchema).max(12), plans: z.array(planSchema).max(6) })
	.refine((offer) => new Set([...offer.packs, ...offer.plans].map((item) => item.id)).size === offer.packs.length + offer.plans.length, {
		message: 'pack and plan ids must be unique',
	})

export type Pack = z.infer<typeof packSchema>
export type Plan = z.infer<typeof planSchema>
export type Offer = z.infer<typeof offerSchema> & { currency: 'eur' }

export const defaultOffer: Offer = {
	currency: 'eur',
	packs: [
		{ id: 'decouverte', name: { fr: 'Découverte', en: 'Starter' }, credits: 20, priceCents: 1900 },
		{ id: 'agence', name: { fr: 'Agence', en: 'Agency' }, credits: 100, priceCents: 7900 },
		{ id: 'reseau', name: { fr: 'Réseau', en: 'Network' }, credits: 500, priceCents: 34900 },
	],
	plans: [
		{ id: 'solo', name: { fr: 'Solo', en: 'Solo' }, creditsPerMonth: 40, priceCents: 2900 },
		{ id: 'equipe', name: { fr: 'Équipe', en: 'Team' }, creditsPerMonth: 200, priceCents: 11900 },
	],
}

/** Thrown at boot for a BILLING_OFFER that does not parse. */
export class OfferConfigError extends Error {}

/** The default offer, or BILLING_OFFER (a whole offer: `{ "packs": [...], "plans": [...] }`), validated. */
export function resolveOffer(json: string | undefined): Offer {
	if (!json) return defaultOffer
	const offer = parseJsonSetting('BILLING_OFFER', json, offerSchema, (message) => new OfferConfigError(message))
	return { ...offer, currency: 'eur' }
}

let cached: { json: string | undefined; offer: Offer } | undefined

export function getOffer(): Offer {
	const json = getEnv().BILLING_OFFER
	const current = cached
	if (current && current.json === json) return current.offer
	const offer = resolveOffer(json)
	cached = { json, offer }
	return offer
}

export function findPack(packId: string) {
	return getOffer().packs.find((pack) => pack.id === packId) ?? null
}

export function findPlan(planId: string) {
	return getOffer().plans.find((plan) => plan.id === planId) ?? null
}
