import { z } from 'zod'

/**
 * What can be ordered: the kinds, their options, the model behind each and what it costs. One
 * typed module read by the order form, the ordering transaction and the worker. Models and
 * costs can be overridden by configuration (TRANSFORMATIONS_CONFIG, see catalog.server.ts).
 */

export const kinds = ['virtual_staging', 'declutter', 'day_to_dusk', 'sky_replacement', 'enhancement'] as const
export type Kind = (typeof kinds)[number]

export const qualities = ['standard', 'hd'] as const
export type Quality = (typeof qualities)[number]

export const roomTypes = ['living_room', 'bedroom', 'kitchen', 'dining_room', 'office', 'bathroom', 'kids_room', 'terrace'] as const
export type RoomType = (typeof roomTypes)[number]

export const styles = ['modern', 'scandinavian', 'industrial', 'french_classic', 'bohemian', 'minimalist', 'coastal'] as const
export type Style = (typeof styles)[number]

/** Who runs a kind: Replicate (AI) or the local Sharp pipeline (no account needed). */
export type ProviderName = 'replicate' | 'local'

export type KindConfig = {
	provider: ProviderName
	/** Replicate model: `owner/name` (official model) or `owner/name:version`. */
	model: string
	/** Model used for HD (defaults to `model`). */
	hdModel?: string
	credits: Record<Quality, number>
}

export type Catalog = Record<Kind, KindConfig>

/**
 * The defaults. FLUX Kontext edits a photo from an instruction and keeps its geometry (walls,
 * windows, perspective), which is what a listing needs; "max" is the sharper, slower HD model.
 */
export const defaultCatalog: Catalog = {
	virtual_staging: {
		provider: 'replicate',
		model: 'black-forest-labs/flux-kontext-pro',
		hdModel: 'black-forest-labs/flux-kontext-max',
		credits: { standard: 2, hd: 4 },
	},
	declutter: {
		provider: 'replicate',
		model: 'black-forest-labs/flux-kontext-pro',
		hdModel: 'black-forest-labs/flux-kontext-max',
		credits: { standard: 2, hd: 4 },
	},
	day_to_dusk: {
		provider: 'replicate',
		model: 'black-forest-labs/flux-kontext-pro',
		hdModel: 'black-forest-labs/flux-kontext-max',
		credits: { standard: 1, hd: 2 },
	},
	sky_replacement: {
		provider: 'replicate',
		model: 'black-forest-labs/flux-kontext-pro',
		hdModel: 'black-forest-labs/flux-kontext-max',
		credits: { standard: 1, hd: 2 },
	},
	enhancement: { provider: 'local', model: 'renzo/sharp-enhance', credits: { standard: 1, hd: 1 } },
}

/** Kinds whose result must be disclosed as virtually modified (French practice, MLS rules). */
export const disclosedKinds: ReadonlySet<Kind> = new Set(['virtual_staging', 'declutter'])

/** The burnt-in disclosure label (French: the listing is read in French whatever the UI locale). */
export const DISCLOSURE_TEXT = 'Photo virtuellement aménagée'

/**
 * The IPTC digital source type written into every AI result's XMP (EU AI Act art. 50; see
 * marking.server.ts). Every model kind edits a real photo: a composite, not fully generated.
 */
export const DIGITAL_SOURCE_TYPE = 'http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia'

const roomPrompt: Record<RoomType, string> = {
	living_room: 'living room',
	bedroom: 'bedroom',
	kitchen: 'kitchen',
	dining_room: 'dining room',
	office: 'home office',
	bathroom: 'bathroom',
	kids_room: "children's bedroom",
	terrace: 'terrace',
}

const stylePrompt: Record<Style, string> = {
	modern: 'modern style, clean lines, neutral tones, contemporary furniture',
	scandinavian: 'Scandinavian style, light wood, white and beige textiles, cosy and airy',
	industrial: 'industrial style, black metal, leather, raw wood, loft feeling',
	french_classic: 'classic French style, Haussmann elegance, moulded details, velvet and brass, parquet-friendly furniture',
	bohemian: 'bohemian style, rattan, plants, warm patterns, layered rugs',
	minimalist: 'minimalist style, very few pieces, calm, uncluttered',
	coastal: 'coastal style, linen, soft blues and sand colours, natural fibres',
}

const KEEP = 'Keep the architecture, walls, windows, doors, floor, ceiling, lighting direction and camera perspective exactly as they are.'

/** The instruction sent to the model for one transformation (custom style text replaces the style's). */
export function buildPrompt(input: { kind: Kind; roomType?: RoomType | null; style?: Style | null; customPrompt?: string | null }) {
	switch (input.kind) {
		case 'virtual_staging': {
			const room = roomPrompt[input.roomType ?? 'living_room']
			const style = input.customPrompt?.trim() || stylePrompt[input.style ?? 'modern']
			return `Furnish this empty room as a realistic, professionally staged ${room}: ${style}. ${KEEP} Photorealistic real-estate photograph.`
		}
		case 'declutter':
			return `Remove all furniture, objects, clutter and personal items from this room, leaving it empty and clean. ${KEEP} Photorealistic real-estate photograph.`
		case 'day_to_dusk':
			return `Turn this daytime photograph into a twilight (dusk) photograph: deep blue sky with a warm glow at the horizon, warm interior lights on behind the windows, exterior lights on. ${KEEP}`
		case 'sky_replacement':
			return `Replace the sky with a clear, bright blue sky with a few soft white clouds, and adjust the light on the building to match. Do not change anything else. ${KEEP}`
		case 'enhancement':
			return 'Enhance this real-estate photograph: balanced exposure, neutral white balance, crisp details.'
	}
}

/** What the order form sends, validated (custom style ids are checked against the owner later). */
export const orderSchema = z
	.object({
		photoIds: z.array(z.uuid()).min(1).max(50),
		kind: z.enum(kinds),
		quality: z.enum(qualities).default('standard'),
		roomType: z.enum(roomTypes).optional(),
		style: z.enum(styles).optional(),
		customStyleId: z.uuid().optional(),
		disclosureLabel: z.boolean().default(false),
		/** One email when the whole batch has finished. */
		notifyByEmail: z.boolean().default(false),
	})
	.transform((order) => ({
		...order,
		// Options only mean something for the kind that uses them.
		roomType: order.kind === 'virtual_staging' ? (order.roomType ?? 'living_room') : undefined,
		style: order.kind === 'virtual_staging' && !order.customStyleId ? (order.style ?? 'modern') : undefined,
		customStyleId: order.kind === 'virtual_staging' ? order.customStyleId : undefined,
		disclosureLabel: disclosedKinds.has(order.kind) ? order.disclosureLabel : false,
	}))
export type Order = z.output<typeof orderSchema>

/** The model input for one transformation (FLUX Kontext's input names). */
export function buildModelInput(input: { prompt: string; imageUrl: string; seed: number }) {
	return {
		prompt: input.prompt,
		input_image: input.imageUrl,
		aspect_ratio: 'match_input_image',
		output_format: 'jpg',
		safety_tolerance: 2,
		seed: input.seed,
	}
}
