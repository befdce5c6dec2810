import { describe, expect, test } from 'vitest'
import { renderPage } from '#tests/utils/render-page.tsx'
import { PhotoGrid } from './photo-grid.tsx'

describe('PhotoGrid', () => {
	test('a twin says it is already in the project; the original does not', async () => {
		const photo = (id: string, duplicateOfId: string | null) => ({
			id,
			status: 'ready' as const,
			originalFilename: `${id}.jpg`,
			duplicateOfId,
			thumbnail: { url: `/t/${id}.webp`, width: 400, height: 300 },
		})
		const html = await renderPage({ element: <PhotoGrid projectId="p" photos={[photo('salon', null), photo('salon-copie', 'salon')]} /> })
		const tiles = html.split('<li').slice(1)
		expect(tiles).toHaveLength(2)
		expect(tiles[0]).not.toContain('Cette photo est déjà dans le projet.')
		expect(tiles[1]).toContain('Cette photo est déjà dans le projet.')
	})
})
