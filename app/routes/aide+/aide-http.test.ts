import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { guides } from '#app/modules/help/guides.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { startRealApp } from '#tests/utils/real-app.ts'

// The « Aide » pages in the whole app over HTTP (root layout, header, stylesheets, error pages):
// public, reachable from the header of every page, logged in or not.

let app: Awaited<ReturnType<typeof startRealApp>>

beforeAll(async () => {
	app = await startRealApp()
})
afterAll(async () => {
	await app?.close()
})

async function page(path: string, cookie?: string) {
	const response = await fetch(`${app.url}${path}`, { headers: cookie ? { Cookie: cookie } : {}, redirect: 'manual' })
	return { status: response.status, html: await response.text() }
}

/** The header's « Aide » link (NavLink: `active` and aria-current on the help pages). */
const helpLink = /<a[^>]*class="help-link[^"]*"[^>]*href="\/aide"[^>]*>Aide<\/a>/

describe('« Aide » in the app', () => {
	test('public: every guide answers 200 without a session, one h1, the header links to the help', async () => {
		const index = await page('/aide')
		expect(index.status).toBe(200)
		expect(index.html).toMatch(helpLink)
		expect(index.html).toMatch(/aria-current="page"[^>]*href="\/aide"|href="\/aide"[^>]*aria-current="page"/)
		expect(index.html).toMatch(/<link rel="stylesheet" href="[^"]*help[^"]*\.css"/)
		expect(index.html).toContain('<title>Aide — Renzo</title>')
		for (const guide of guides) {
			const { status, html } = await page(`/aide/${guide.slug}`)
			expect(status, guide.slug).toBe(200)
			expect(html.match(/<h1\b/g), guide.slug).toHaveLength(1)
			expect(html, guide.slug).toMatch(helpLink)
		}
		expect((await page('/aide/nulle-part')).status).toBe(404)
		// The login page (where a visitor lands) and a logged-in page both show the link.
		expect((await page('/login')).html).toMatch(helpLink)
		const agent = await loggedInUser()
		const projects = await page('/projects', agent.jar.header())
		expect(projects.status).toBe(200)
		expect(projects.html).toMatch(helpLink)
		expect(projects.html).toContain('href="/projects"')
	})
})
