// Login, end to end: Chromium on the production build, a real SMTP server, a real Postgres.
// Each test uses its own address; screenshots land in test-results/e2e/.
import { type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { DESKTOP, PHONE, freshEmail, launchBrowser, newContext, pathOf, shot, waitForPath } from './browser.ts'
import { loginCode, loginLink, mailsTo, waitForMail } from './mailbox.ts'

const WELCOME = 'Bienvenue sur Renzo ! 5 crédits vous ont été offerts pour essayer.'

let browser: Browser
beforeAll(async () => {
	browser = await launchBrowser()
})
afterAll(async () => {
	await browser?.close()
})

/** Types the address on /login and sends the form; returns when /login/verify is shown. */
async function askForLogin(page: Page, email: string) {
	await page.getByLabel('Adresse e-mail').fill(email)
	await page.getByRole('button', { name: 'Recevoir mon lien de connexion' }).click()
	await waitForPath(page, '/login/verify')
	await page.getByRole('heading', { name: 'Vérifiez vos e-mails' }).waitFor()
}

async function typeCode(page: Page, code: string) {
	await page.getByLabel('Code à 6 chiffres').fill(code)
	await page.getByRole('button', { name: 'Valider le code' }).click()
}

/** The dashboard of a brand-new account: 5 credits and the welcome toast. */
async function expectNewAccountDashboard(page: Page) {
	await waitForPath(page, '/')
	const balance = page.getByTestId('balance')
	await balance.waitFor()
	expect((await balance.textContent())?.trim()).toBe('5 crédits')
	const toast = page.getByRole('status').filter({ hasText: 'Bienvenue sur Renzo' })
	await toast.waitFor()
	expect((await toast.textContent())?.trim()).toBe(WELCOME)
	await page.getByRole('button', { name: 'Se déconnecter', exact: true }).waitFor()
}

describe('login', () => {
	test('a new agent signs up and out on a phone, with the code from the email', async () => {
		const email = freshEmail('mobile')
		const context = await newContext(browser, 'phone', PHONE)
		const page = await context.newPage()

		// Logged out, the site opens on the login page.
		await page.goto('/')
		await waitForPath(page, '/login')
		await page.getByRole('heading', { name: 'Connexion' }).waitFor()
		await shot(page, '01-login')

		const asked = Date.now()
		await page.getByLabel('Adresse e-mail').fill(email)
		await page.getByRole('button', { name: 'Recevoir mon lien de connexion' }).click()
		await waitForPath(page, '/login/verify')
		await page.getByRole('heading', { name: 'Vérifiez vos e-mails' }).waitFor()
		await page.getByText(email).waitFor()
		await shot(page, '02-verify')

		// ONE email: the code in the subject and the body, the link to this app.
		const mail = await waitForMail(email, { since: asked })
		expect(mail.subject).toMatch(/^Votre code de connexion Renzo : \d{6}$/)
		const code = loginCode(mail)
		expect(mail.text).toContain(code)
		expect(loginLink(mail).startsWith(`${inject('appUrl')}/login/verify?token=`)).toBe(true)

		await page.getByLabel('Code à 6 chiffres').fill(code)
		await shot(page, '03-code-typed')
		await page.getByRole('button', { name: 'Valider le code' }).click()
		await expectNewAccountDashboard(page)
		await shot(page, '04-dashboard')

		// The header's Crédits link (with its balance badge) opens the ledger.
		const nav = page.getByRole('navigation', { name: 'Navigation principale' })
		const creditsLink = nav.getByRole('link', { name: /^Crédits/ })
		expect((await creditsLink.locator('.badge').textContent())?.trim()).toBe('5')
		await creditsLink.click()
		await waitForPath(page, '/credits')
		const welcomeRow = page.getByRole('row').filter({ hasText: 'Crédits de bienvenue' })
		await welcomeRow.waitFor()
		expect(await welcomeRow.count()).toBe(1)
		expect(await welcomeRow.textContent()).toContain('+5')
		await shot(page, '05-credits')

		await nav.getByRole('link', { name: 'Compte' }).click()
		await waitForPath(page, '/settings')
		await page.getByRole('heading', { name: 'Sessions actives' }).waitFor()
		await page.getByRole('button', { name: 'Déconnecter les autres appareils' }).waitFor()
		await page.getByRole('button', { name: 'Se déconnecter partout' }).waitFor()
		await shot(page, '06-settings')

		await page.getByRole('banner').getByRole('button', { name: 'Se déconnecter', exact: true }).click()
		await waitForPath(page, '/login')
		await page.getByLabel('Adresse e-mail').waitFor()
		await shot(page, '07-logged-out')

		// The session is gone, not just hidden: / sends back to the login page.
		await page.goto('/')
		await waitForPath(page, '/login')
		expect(await page.getByRole('button', { name: 'Se déconnecter', exact: true }).count()).toBe(0)
		await shot(page, '08-root-after-logout')

		// One login, one email.
		expect(await mailsTo(email)).toHaveLength(1)
	})

	test('the magic link opened in the browser that asked logs in (desktop)', async () => {
		const email = freshEmail('desktop')
		const context = await newContext(browser, 'desktop', DESKTOP)
		const page = await context.newPage()
		await page.goto('/login')
		const asked = Date.now()
		await askForLogin(page, email)
		const mail = await waitForMail(email, { since: asked })
		const link = loginLink(mail)

		// Open the HTML email in a tab of the same browser and click its button, as from a webmail.
		const inbox = await context.newPage()
		await inbox.setContent(mail.html)
		const button = inbox.getByRole('link', { name: 'Me connecter' })
		expect(await button.getAttribute('href')).toBe(link)
		await button.click()
		await expectNewAccountDashboard(inbox)
		await shot(inbox, '10-desktop-magic-link-dashboard')

		// The first tab shares the session: reloading it lands on the dashboard too.
		await page.goto('/')
		await waitForPath(page, '/')
		await page.getByTestId('balance').waitFor()
	})

	test('the magic link opened in another browser does not log in there, and the code still works', async () => {
		const email = freshEmail('other-browser')
		const asking = await newContext(browser, 'asking', DESKTOP)
		const page = await asking.newPage()
		await page.goto('/login')
		const asked = Date.now()
		await askForLogin(page, email)
		const mail = await waitForMail(email, { since: asked })

		// The link opened on another device/browser: a French explanation, no session.
		const other = await newContext(browser, 'other', PHONE)
		const otherPage = await other.newPage()
		await otherPage.goto(loginLink(mail))
		const alert = otherPage.getByRole('alert').filter({ hasText: 'autre navigateur' })
		await alert.waitFor()
		expect(await alert.textContent()).toContain('Ce lien a été ouvert dans un autre navigateur')
		await shot(otherPage, '11-other-browser-link')
		expect(await otherPage.getByRole('button', { name: 'Se déconnecter', exact: true }).count()).toBe(0)
		await otherPage.goto('/')
		await waitForPath(otherPage, '/login')

		// The code was not spent by that attempt: it logs in the browser that asked.
		await typeCode(page, loginCode(mail))
		await expectNewAccountDashboard(page)
		await shot(page, '12-other-browser-code-dashboard')
	})

	test('a wrong code is explained next to the field, and the right code still works', async () => {
		const email = freshEmail('wrong-code')
		const context = await newContext(browser, 'wrong-code', PHONE)
		const page = await context.newPage()
		await page.goto('/login')
		const asked = Date.now()
		await askForLogin(page, email)
		const code = loginCode(await waitForMail(email, { since: asked }))
		const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')

		await typeCode(page, wrong)
		const error = page.getByRole('alert').filter({ hasText: 'Code incorrect' })
		await error.waitFor()
		expect((await error.textContent())?.trim()).toBe('Code incorrect. Il vous reste 4 essais.')
		const input = page.getByLabel('Code à 6 chiffres')
		expect(await input.getAttribute('aria-invalid')).toBe('true')
		// The message is tied to the field, so a screen reader reads it with the input.
		const errorId = await error.getAttribute('id')
		expect(errorId).toBeTruthy()
		expect((await input.getAttribute('aria-describedby'))?.split(' ')).toContain(errorId)
		expect(pathOf(page)).toBe('/login/verify')
		await shot(page, '13-wrong-code')

		await typeCode(page, code)
		await expectNewAccountDashboard(page)
	})
})
