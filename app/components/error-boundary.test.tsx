import { renderToString } from 'react-dom/server'
import { createStaticHandler, createStaticRouter, StaticRouterProvider } from 'react-router-dom/server'
import { describe, expect, test } from 'vitest'
import { GeneralErrorBoundary } from './error-boundary.tsx'

/** Server-renders a page whose loader throws `thrown`, under a 'root' route holding the locale, the way Remix does. */
async function renderThrown(thrown: unknown) {
	const routes = [
		{
			id: 'root',
			path: '/',
			loader: () => ({ locale: 'fr', csrfToken: 'jeton' }),
			children: [
				{
					id: 'page',
					index: true,
					loader: () => {
						throw thrown
					},
					element: <p>la page</p>,
					errorElement: <GeneralErrorBoundary />,
				},
			],
		},
	]
	const handler = createStaticHandler(routes)
	const context = await handler.query(new Request('http://localhost/'))
	if (context instanceof Response) throw new Error('unexpected redirect')
	return renderToString(<StaticRouterProvider router={createStaticRouter(handler.dataRoutes, context)} context={context} hydrate={false} />)
}

describe('GeneralErrorBoundary', () => {
	test('503 (the database away during a client-side navigation): unavailable, nothing lost, a reload link', async () => {
		// What the HTTP layer answers to a data request then: a thrown 503 (X-Remix-Catch), JSON body.
		const html = await renderThrown(Response.json({ status: 503 }, { status: 503 }))
		expect(html).toContain('Service momentanément indisponible')
		expect(html).toContain('Vos photos et vos crédits ne sont pas concernés.')
		expect(html).toMatch(/<a href="" class="button">Réessayer<\/a>/)
		expect(html).not.toContain('<p>la page</p>')
	})

	test('404 and an unexpected error keep their own pages and the way home', async () => {
		const notFound = await renderThrown(new Response(null, { status: 404 }))
		expect(notFound).toContain('Page introuvable')
		expect(notFound).toContain('href="/"')
		const crash = await renderThrown(new Error('boom'))
		expect(crash).toContain('Une erreur est survenue')
		expect(crash).not.toContain('Réessayer')
	})
})
