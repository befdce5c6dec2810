import { describe, expect, test } from 'vitest'
import { buildPrompt, defaultCatalog, orderSchema } from './catalog.ts'
import { CatalogConfigError, resolveCatalog } from './catalog.server.ts'

describe('transformation catalogue', () => {
	test('configuration overrides a model and costs without touching the other kinds', () => {
		const catalog = resolveCatalog(
			JSON.stringify({ day_to_dusk: { model: 'acme/dusk:' + 'a'.repeat(64), credits: { hd: 5 } }, enhancement: { provider: 'replicate' } }),
		)
		expect(catalog.day_to_dusk).toEqual({
			provider: 'replicate',
			model: `acme/dusk:${'a'.repeat(64)}`,
			hdModel: `acme/dusk:${'a'.repeat(64)}`,
			credits: { standard: defaultCatalog.day_to_dusk.credits.standard, hd: 5 },
		})
		expect(catalog.enhancement.provider).toBe('replicate')
		expect(catalog.virtual_staging).toEqual(defaultCatalog.virtual_staging)
		expect(resolveCatalog(undefined)).toBe(defaultCatalog)
	})

	test('a bad configuration is refused with a message naming the problem', () => {
		expect(() => resolveCatalog('{nope')).toThrow(CatalogConfigError)
		expect(() => resolveCatalog(JSON.stringify({ teleport: {} }))).toThrow(/TRANSFORMATIONS_CONFIG/)
		expect(() => resolveCatalog(JSON.stringify({ declutter: { credits: { standard: -1 } } }))).toThrow(/declutter\.credits\.standard/)
		expect(() => resolveCatalog(JSON.stringify({ declutter: { model: 'not a model' } }))).toThrow(/declutter\.model/)
	})

	test('options only apply to the kind that uses them; staging defaults to a living room, modern', () => {
		const photoIds = ['0b6f1f9e-8f4c-4a43-9d1f-2f7a3c1b5e10']
		expect(
			orderSchema.parse({ photoIds, kind: 'day_to_dusk', roomType: 'bedroom', style: 'bohemian', disclosureLabel: true }),
		).toMatchObject({
			roomType: undefined,
			style: undefined,
			disclosureLabel: false,
			quality: 'standard',
		})
		expect(orderSchema.parse({ photoIds, kind: 'virtual_staging' })).toMatchObject({ roomType: 'living_room', style: 'modern' })
		expect(orderSchema.safeParse({ photoIds: [], kind: 'virtual_staging' }).success).toBe(false)
		expect(orderSchema.safeParse({ photoIds: ['../x'], kind: 'virtual_staging' }).success).toBe(false)
	})

	test('prompts name the room and the style, or the custom style text; geometry is always kept', () => {
		const staged = buildPrompt({ kind: 'virtual_staging', roomType: 'bedroom', style: 'french_classic' })
		expect(staged).toMatch(/bedroom/)
		expect(staged).toMatch(/Haussmann/)
		expect(buildPrompt({ kind: 'virtual_staging', customPrompt: 'Art déco, laiton et velours vert' })).toMatch(/Art déco/)
		for (const kind of ['virtual_staging', 'declutter', 'day_to_dusk', 'sky_replacement'] as const)
			expect(buildPrompt({ kind })).toMatch(/Keep the architecture/)
	})
})
