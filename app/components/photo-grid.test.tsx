import { renderToString } from 'react-dom/server'
import { createStaticHandler, createStaticRouter, StaticRouterProvider } from 'react-router-dom/server'
import { describe, expect, test } from 'vitest'
import { PhotoGrid } from './photo-grid.tsx'

/** Server-renders the grid under a 'root' route holding the locale, the way Remix does. */
async function render(element: React.ReactNode) {
	const routes = [
		{ id: 'root', path: '/', loader: () => ({ locale: 'fr', csrfToken: 'jeton' }), children: [{ id: 'page', index: true, element }] },
	]
	const handler = createStaticHandler(routes)
	const context = await handler.query(new Request('http://localhost/'))
	if (context instanceof Response) throw new Error('unexpected redirect')
	return renderToString(<StaticRouterProvider router={createStaticRouter(handler.dataRoutes, context)} context={context} hydrate={false} />)
}

describe('PhotoGrid', () => {
	test('a twin says it is already in the project; the original does not', async () => {
		const photo = (id: string, duplicateOfId: string | null) => ({
			id,
			status: 'ready' as const,
			originalFilename: `${id}.jpg`,
			duplicateOfId,
			thumbnail: { url: `/t/${id}.webp`, width: 400, height: 300 },
		})
		const html = await render(<PhotoGrid projectId="p" photos={[photo('salon', null), photo('salon-copie', 'salon')]} />)
		const tiles = html.split('<li').slice(1)
		expect(tiles).toHaveLength(2)
		expect(tiles[0]).not.toContain('Cette photo est déjà dans le projet.')
		expect(tiles[1]).toContain('Cette photo est déjà dans le projet.')
	})
})
