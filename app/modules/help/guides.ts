/** The « Aide » guides, in reading order: their address under /aide and their message keys. */
export const guides = [
	{ slug: 'bien-demarrer', key: 'gettingStarted' },
	{ slug: 'prendre-des-photos', key: 'photos' },
	{ slug: 'transformations', key: 'transformations' },
	{ slug: 'photos-retouchees', key: 'disclosure' },
	{ slug: 'api', key: 'api' },
] as const

export type Guide = (typeof guides)[number]
export type GuideKey = Guide['key']

/** The address of a guide's page. */
export const guidePath = (key: GuideKey) => `/aide/${guides.find((guide) => guide.key === key)!.slug}`

/** The caption the disclosure guide suggests under each virtually staged photo of a listing. */
export const SUGGESTED_CAPTION = 'Photo retouchée – mise en scène virtuelle'
