import { z } from 'zod'
import { getEnv } from '#app/utils/env.server.ts'
import { parseJsonSetting } from '#app/utils/json-config.server.ts'
import { defaultCatalog, kinds, type Catalog, type Kind } from './catalog.ts'

const credits = z.number().int().min(0).max(1000)
const kindOverride = z
	.object({
		provider: z.enum(['replicate', 'local']).optional(),
		model: z
			.string()
			.regex(/^[\w.-]+\/[\w.-]+(:[0-9a-f]{64})?$/, 'owner/name or owner/name:version')
			.optional(),
		hdModel: z
			.string()
			.regex(/^[\w.-]+\/[\w.-]+(:[0-9a-f]{64})?$/, 'owner/name or owner/name:version')
			.optional(),
		credits: z.object({ standard: credits.optional(), hd: credits.optional() }).strict().optional(),
	})
	.strict()
const overrideSchema = z.partialRecord(z.enum(kinds), kindOverride)

/** Thrown at boot for a TRANSFORMATIONS_CONFIG that does not parse. */
export class CatalogConfigError extends Error {}

/** The default catalogue with the configuration's overrides applied (validated; errors name the kind). */
export function resolveCatalog(json: string | undefined): Catalog {
	if (!json) return defaultCatalog
	const overrides = parseJsonSetting('TRANSFORMATIONS_CONFIG', json, overrideSchema, (message) => new CatalogConfigError(message))
	const catalog = structuredClone(defaultCatalog)
	for (const [kind, override] of Object.entries(overrides) as [Kind, z.infer<typeof kindOverride>][]) {
		const base = catalog[kind]
		catalog[kind] = {
			provider: override.provider ?? base.provider,
			model: override.model ?? base.model,
			hdModel: override.hdModel ?? (override.model ? override.model : base.hdModel),
			credits: { standard: override.credits?.standard ?? base.credits.standard, hd: override.credits?.hd ?? base.credits.hd },
		}
	}
	return catalog
}

let cached: { json: string | undefined; catalog: Catalog } | undefined

/** The catalogue of this process (configuration read once). */
export function getCatalog(): Catalog {
	const json = getEnv().TRANSFORMATIONS_CONFIG
	const current = cached
	if (current && current.json === json) return current.catalog
	const catalog = resolveCatalog(json)
	cached = { json, catalog }
	return catalog
}

/** Whether a kind can run here: local kinds always, Replicate kinds only with a token. */
export function isAvailable(kind: Kind, catalog = getCatalog(), env = getEnv()) {
	return catalog[kind].provider === 'local' || Boolean(env.REPLICATE_API_TOKEN)
}

/** What the order form needs: every kind with its costs and whether it can run here. */
export function offer() {
	const catalog = getCatalog()
	return kinds.map((kind) => ({ kind, credits: catalog[kind].credits, available: isAvailable(kind, catalog) }))
}
