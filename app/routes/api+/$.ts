import type { LoaderFunctionArgs } from '@remix-run/node'
import { resolveLocale, translator } from '#app/modules/i18n/locale.server.ts'
import { json } from '#app/modules/api/operation.server.ts'

// Any other path under /api: the API's JSON 404 (not the site's HTML page), whatever the method.
async function notFound({ request }: LoaderFunctionArgs) {
	const t = translator(await resolveLocale(request))
	const url = new URL(request.url)
	const docs = new URL('/api-docs', url).toString()
	return json(404, {
		error: { code: 'route_not_found', message: t('api.error.routeNotFound', { method: request.method, path: url.pathname, docs }) },
	})
}

export const loader = notFound
export const action = notFound
