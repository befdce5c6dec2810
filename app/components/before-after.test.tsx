import { type ReactNode } from 'react'
import { renderToString } from 'react-dom/server'
import { createStaticHandler, createStaticRouter, StaticRouterProvider } from 'react-router-dom/server'
import { describe, expect, test } from 'vitest'
import { BeforeAfter, type CompareImage } from './before-after.tsx'

const before: CompareImage = { src: '/files/avant.jpg?sig=a&exp=1', width: 1600, height: 1200, alt: 'Salon vide, photo d’origine' }
const after: CompareImage = { src: '/files/apres.webp?sig=b', width: 1600, height: 1200, alt: 'Salon meublé en style scandinave' }

/** Server-renders `element` the way Remix does: under a data router whose 'root' route holds the locale. */
async function render(element: ReactNode, locale: 'fr' | 'en' = 'fr') {
	const routes = [{ id: 'root', path: '/', loader: () => ({ locale }), element }]
	const handler = createStaticHandler(routes)
	const context = await handler.query(new Request('http://localhost/'))
	if (context instanceof Response) throw new Error('unexpected redirect')
	return renderToString(<StaticRouterProvider router={createStaticRouter(handler.dataRoutes, context)} context={context} hydrate={false} />)
}

function attributesOf(html: string, tag: string) {
	return [...html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'g'))].map((m) => m[1]!)
}

describe('BeforeAfter', () => {
	test('server markup: both images with their alt text and intrinsic size, a labelled range with its value text', async () => {
		const html = await render(<BeforeAfter before={before} after={after} />)
		const images = attributesOf(html, 'img')
		expect(images).toHaveLength(2)
		expect(images[0]).toContain('alt="Salon vide, photo d’origine"')
		expect(images[0]).toContain('width="1600"')
		expect(images[0]).toContain('height="1200"')
		expect(images[0]).toContain('src="/files/avant.jpg?sig=a&amp;exp=1"')
		expect(images[1]).toContain('alt="Salon meublé en style scandinave"')
		expect(images[1]).toContain('width="1600"')

		const [range] = attributesOf(html, 'input')
		expect(range).toMatch(/type="range"/)
		expect(range).toMatch(/min="0"/)
		expect(range).toMatch(/max="100"/)
		expect(range).toMatch(/value="50"/)
		expect(range).toContain('aria-valuetext="Avant 50 %, Après 50 %"')
		const id = /id="([^"]+)"/.exec(range!)![1]!
		expect(html).toContain(`<label for="${id}">Comparer avant et après</label>`)

		// The visible names of the two sides, and a way to each image that needs no script.
		expect(html).toContain('>Avant</span>')
		expect(html).toContain('>Après</span>')
		expect(html).toContain('href="/files/avant.jpg?sig=a&amp;exp=1">Voir « Avant » en grand</a>')
		expect(html).toContain('href="/files/apres.webp?sig=b">Voir « Après » en grand</a>')
	})

	test('no style attribute anywhere: the CSP (style-src without unsafe-inline) would block it', async () => {
		const html = await render(<BeforeAfter before={before} after={after} />)
		expect(html).not.toMatch(/\sstyle=/i)
		expect(html).not.toMatch(/<style/i)
	})

	test('custom labels name the sides and the value; English follows the locale', async () => {
		const html = await render(<BeforeAfter before={before} after={after} labels={{ before: 'Original', after: 'Home staging' }} />, 'en')
		expect(html).toContain('>Original</span>')
		expect(html).toContain('>Home staging</span>')
		expect(html).toContain('aria-valuetext="Original 50%, Home staging 50%"')
		expect(html).toContain('>Compare before and after</label>')
		expect(html).toContain('View “Original” full size')
	})
})
