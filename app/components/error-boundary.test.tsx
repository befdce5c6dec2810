import { describe, expect, test } from 'vitest'
import { renderPage } from '#tests/utils/render-page.tsx'
import { GeneralErrorBoundary } from './error-boundary.tsx'

/** Server-renders a page whose loader throws `thrown`, as Remix does. */
function renderThrown(thrown: unknown) {
	return renderPage({
		loader: () => {
			throw thrown
		},
		element: <p>la page</p>,
		errorElement: <GeneralErrorBoundary />,
	})
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
