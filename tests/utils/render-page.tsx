import { renderToString } from 'react-dom/server'
import { type RouteObject } from 'react-router-dom'
import { createStaticHandler, createStaticRouter, StaticRouterProvider } from 'react-router-dom/server'

/**
 * Server-renders `page` (an index route: its element, loader, errorElement) under a 'root' route
 * holding the locale and a CSRF token, the way Remix does, and returns the HTML.
 */
export async function renderPage(page: Omit<RouteObject, 'index' | 'children' | 'path'>) {
	const routes: RouteObject[] = [
		{ id: 'root', path: '/', loader: () => ({ locale: 'fr', csrfToken: 'jeton' }), children: [{ id: 'page', ...page, index: true }] },
	]
	const handler = createStaticHandler(routes)
	const context = await handler.query(new Request('http://localhost/'))
	if (context instanceof Response) throw new Error('unexpected redirect')
	return renderToString(<StaticRouterProvider router={createStaticRouter(handler.dataRoutes, context)} context={context} hydrate={false} />)
}
