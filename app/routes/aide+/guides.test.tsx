import { Outlet } from '@remix-run/react'
import type { ComponentType } from 'react'
import { renderToString } from 'react-dom/server'
import sharp from 'sharp'
import { createStaticHandler, createStaticRouter, StaticRouterProvider } from 'react-router-dom/server'
import { afterEach, describe, expect, test } from 'vitest'
import { guides } from '#app/modules/help/guides.ts'
import { translate } from '#app/modules/i18n/catalog.ts'
import { DIGITAL_SOURCE_TYPE, DISCLOSURE_TEXT, kinds, roomTypes, styles } from '#app/modules/transformations/catalog.ts'
import { resolveCatalog } from '#app/modules/transformations/catalog.server.ts'
import { prepareOutput } from '#app/modules/transformations/output.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import HelpLayout from './_layout.tsx'
import * as api from './api.tsx'
import * as gettingStarted from './bien-demarrer.tsx'
import * as index from './index.tsx'
import * as disclosure from './photos-retouchees.tsx'
import * as photos from './prendre-des-photos.tsx'
import * as transformations from './transformations.tsx'

type RouteModule = { default: ComponentType; loader?: () => Promise<unknown> }

const pages: Record<string, RouteModule> = {
	'': index,
	'bien-demarrer': gettingStarted,
	'prendre-des-photos': photos,
	transformations,
	'photos-retouchees': disclosure,
	api,
}

/**
 * Server-renders /aide/<slug> the way Remix does: a data router runs the real loaders (root gives
 * the locale) and renders the layout and the page. Returns the status and the page's HTML.
 */
async function render(slug: string, locale: 'fr' | 'en' = 'fr') {
	const page = pages[slug]!
	const Page = page.default
	const routes = [
		{
			id: 'root',
			path: '/',
			loader: () => ({ locale }),
			element: <Outlet />,
			children: [
				{
					id: 'routes/aide+/_layout',
					path: 'aide',
					element: <HelpLayout />,
					children: [{ id: 'page', ...(slug ? { path: slug } : { index: true }), loader: page.loader, element: <Page /> }],
				},
			],
		},
	]
	const handler = createStaticHandler(routes)
	const context = await handler.query(new Request(`http://localhost/aide${slug ? `/${slug}` : ''}`))
	if (context instanceof Response) throw new Error(`unexpected response ${context.status}`)
	if (context.errors) throw Object.values(context.errors)[0]
	const html = renderToString(
		<StaticRouterProvider router={createStaticRouter(handler.dataRoutes, context)} context={context} hydrate={false} />,
	)
	return { status: context.statusCode, html }
}

/** The visible text: no code samples (commands, JSON), no tags, entities decoded. */
function proseOf(html: string) {
	return html
		.replace(/<pre\b[\s\S]*?<\/pre>/g, ' ')
		.replace(/<code\b[\s\S]*?<\/code>/g, ' ')
		.replace(/<[^>]+>/g, ' ')
		.replace(/&#x27;|&#39;/g, "'")
		.replace(/&quot;/g, '"')
		.replace(/&amp;/g, '&')
		.replace(/\s+/g, ' ')
}

function headingLevels(html: string) {
	return [...html.matchAll(/<h([1-6])\b/g)].map((m) => Number(m[1]))
}

// Words that only an English sentence would contain (proper nouns and code are not prose).
const ENGLISH = /\b(the|and|with|your|you|this|that|is|are|for|from|click|please|here|credits?|upload|download|settings|help)\b/i

afterEach(() => {
	delete process.env.TRANSFORMATIONS_CONFIG
	delete process.env.REPLICATE_API_TOKEN
	reloadEnv()
})

describe('« Aide » pages', () => {
	test('the index lists every guide, each one renders: 200, one h1, ordered headings, French only', async () => {
		const home = await render('')
		expect(home.status).toBe(200)
		for (const guide of guides) expect(home.html).toContain(`href="/aide/${guide.slug}"`)
		expect(Object.keys(pages).filter(Boolean).sort()).toEqual(guides.map((guide) => guide.slug).sort())

		for (const slug of Object.keys(pages)) {
			;(await import('node:fs')).writeFileSync('/tmp/aide-' + (slug || 'index') + '.html', (await render(slug)).html)
			const { status, html } = await render(slug)
			expect(status, slug).toBe(200)
			const levels = headingLevels(html)
			expect(
				levels.filter((level) => level === 1),
				slug,
			).toHaveLength(1)
			expect(levels[0], slug).toBe(1)
			// Never a skipped level going down (h2 → h4).
			for (let i = 1; i < levels.length; i++)
				expect(levels[i]! - levels[i - 1]!, `${slug}: h${levels[i - 1]} → h${levels[i]}`).toBeLessThanOrEqual(1)

			const prose = proseOf(html)
			expect(prose, slug).toMatch(/\b(vous|votre|les|des)\b/)
			expect(prose.match(ENGLISH)?.[0], `${slug}: English word in the prose`).toBeUndefined()
			// No message key printed instead of its text.
			expect(prose, slug).not.toMatch(/\b(help|transformations|photos|login|billing)\.[a-z]/)
			if (!slug) continue

			const guide = guides.find((g) => g.slug === slug)!
			expect(html).toContain(`<h1 id="guide-title">${translate('fr', `help.guide.${guide.key}.title`).replace(/'/g, '&#x27;')}</h1>`)
			expect(html).toContain('<article class="guide" lang="fr"')
			// Long pages have a table of contents whose links all land on a heading of the page.
			const targets = [...html.matchAll(/<nav class="toc"[\s\S]*?<\/nav>/g)].flatMap((nav) =>
				[...nav[0].matchAll(/href="#([^"]+)"/g)].map((m) => m[1]!),
			)
			expect(targets.length, slug).toBeGreaterThanOrEqual(3)
			for (const id of targets) expect(html, `${slug}#${id}`).toMatch(new RegExp(`<h2 id="${id}"`))
			// Other guides are linked, this one is not.
			expect(html).not.toContain(`href="/aide/${slug}"`)
		}
	})

	test('in English the guides say they are written in French, and stay French inside', async () => {
		const { html } = await render('bien-demarrer', 'en')
		expect(html).toContain(translate('en', 'help.frenchOnly'))
		expect(html).toContain('<article class="guide" lang="fr"')
		expect(html).toContain('>Help</a>')
		expect((await render('', 'en')).html).toContain(translate('en', 'help.frenchOnlyAll'))
	})

	test('the transformations guide shows the effective catalogue and follows TRANSFORMATIONS_CONFIG', async () => {
		/** The costs in the table, per kind, as the page shows them. */
		const table = (html: string) =>
			Object.fromEntries(
				kinds.map((kind) => {
					const row = new RegExp(`<tr data-kind="${kind}">([\\s\\S]*?)</tr>`).exec(html)![1]!
					const cell = (quality: string) => new RegExp(`data-quality="${quality}">([^<]*)<`).exec(row)![1]
					return [kind, { standard: cell('standard'), hd: cell('hd'), row }]
				}),
			)
		const credits = (n: number) => (n <= 1 ? `${n} crédit` : `${n} crédits`)

		const defaults = await render('transformations')
		const catalog = resolveCatalog(undefined)
		for (const kind of kinds) {
			expect(table(defaults.html)[kind]).toMatchObject({
				standard: credits(catalog[kind].credits.standard),
				hd: credits(catalog[kind].credits.hd),
			})
		}
		// Every room and style of the catalogue, by its French name; the caption text of the order form.
		for (const room of roomTypes)
			expect(defaults.html).toContain(`<li data-room="${room}">${translate('fr', `transformations.room.${room}`)}</li>`)
		for (const style of styles) expect(defaults.html).toContain(`<dt>${translate('fr', `transformations.style.${style}`)}</dt>`)
		expect(defaults.html).toContain(DISCLOSURE_TEXT)
		// No Replicate token here: the AI kinds are said to be unavailable, the local enhancement is not.
		expect(table(defaults.html).virtual_staging!.row).toMatch(/non disponible/i)
		expect(table(defaults.html).enhancement!.row).not.toMatch(/non disponible/i)
		expect(proseOf(defaults.html)).toContain('Réalisée sur les serveurs de Renzo, sans intelligence artificielle.')

		process.env.TRANSFORMATIONS_CONFIG = JSON.stringify({
			virtual_staging: { credits: { standard: 3, hd: 7 } },
			enhancement: { provider: 'replicate', model: 'acme/upscale', credits: { standard: 0 } },
		})
		process.env.REPLICATE_API_TOKEN = 'r8_test_token'
		reloadEnv()
		const configured = await render('transformations')
		const rows = table(configured.html)
		expect(rows.virtual_staging).toMatchObject({ standard: '3 crédits', hd: '7 crédits' })
		expect(rows.enhancement).toMatchObject({ standard: '0 crédit', hd: credits(catalog.enhancement.credits.hd) })
		expect(rows.declutter).toMatchObject({
			standard: credits(catalog.declutter.credits.standard),
			hd: credits(catalog.declutter.credits.hd),
		})
		for (const kind of kinds) expect(rows[kind]!.row).not.toMatch(/non disponible/i)
		const prose = proseOf(configured.html)
		expect(prose).toContain('8 × 3 = 24 crédits')
		expect(prose).toContain('Coût : 3 crédits en Standard, 7 crédits en HD, par photo.')
		expect(prose).toContain('Réalisée par intelligence artificielle (modèle acme/upscale).')
		expect(prose).not.toContain('sans intelligence artificielle')
	})

	test('the disclosure guide names the burnt-in caption, the suggested wording and says it is not legal advice', async () => {
		const prose = proseOf((await render('photos-retouchees')).html)
		expect(prose).toContain(`« ${DISCLOSURE_TEXT} »`)
		expect(prose).toContain('Photo retouchée – mise en scène virtuelle')
		expect(prose).toContain(translate('fr', 'transformations.disclosure'))
		expect(prose).toContain('il ne constitue pas un conseil juridique')
	})

	test('the disclosure guide names the machine-readable AI marking the results really carry', async () => {
		const { html } = await render('photos-retouchees')
		expect(proseOf(html)).toContain('Renzo l’inscrit dans chaque résultat produit par un modèle d’IA')
		expect(html).toContain('<code>compositeWithTrainedAlgorithmicMedia</code>')
		// The same constant the writer puts into the files (output.server.ts → marking.server.ts).
		const marked = await prepareOutput(
			await sharp({ create: { width: 96, height: 96, channels: 3, background: '#777' } })
				.png()
				.toBuffer(),
			{
				maxPixels: 1_000_000,
				disclosureLabel: false,
			},
		)
		expect((await sharp(marked.full.data).metadata()).xmp?.toString('utf8')).toContain(DIGITAL_SOURCE_TYPE)
	})
})
