// Billing, end to end, against the Stripe fake started by global-setup: the offer on /credits, the
// « Découverte » pack bought on the fake's hosted checkout page (whose « Payer » delivers signed
// events to the app's webhook before sending the buyer back), the 20 credits granted by the worker,
// the ledger row and the invoice with its PDF; and the success page, which anyone can open with any
// session id, granting nothing by itself.
import crypto from 'node:crypto'
import { type Browser, type Locator, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { DESKTOP, PHONE, freshEmail, launchBrowser, newContext, pathOf, shot, waitForPath } from './browser.ts'
import { headerBalance, logIn } from './agent.ts'

/** Webhook → stored event → pg-boss job (the worker polls every second) → ledger, with room for a slow machine. */
const CREDITS_TIMEOUT_MS = 20_000
/** Between two reloads of a page waiting for the credits. */
const RELOAD_EVERY_MS = 1_000
const PAID = 'Paiement reçu : 20 crédits ont été ajoutés à votre solde.'
const PENDING = 'Paiement en cours de confirmation'

let browser: Browser
/** The Checkout Session paid by the first test, opened by another agent in the second. */
let paidSessionId: string | undefined
beforeAll(async () => {
	browser = await launchBrowser()
})
afterAll(async () => {
	await browser?.close()
})

/** The thanks page's message (the toast area is a status too: this one is in the main content). */
function thanksStatus(page: Page) {
	return page.getByRole('main').getByRole('status')
}

/**
 * Waits until React has hydrated `locator`: a click before that would submit the form natively,
 * and the app's CSP (`form-action 'self'`) blocks a native form's redirect to another origin.
 */
async function hydrated(locator: Locator) {
	await expect.poll(() => locator.evaluate((element) => Object.keys(element).some((key) => key.startsWith('__reactProps')))).toBe(true)
}

/** The /credits/thanks URL Stripe sends the buyer back to, for any session id. */
function thanksUrl(sessionId: string) {
	return `/credits/thanks?${new URLSearchParams({ session: sessionId })}`
}

describe('billing', () => {
	test('an agent buys the « Découverte » pack on the hosted checkout, gets 20 credits, the ledger row and the invoice', async () => {
		const stripeUrl = inject('stripeUrl')
		const email = freshEmail('billing')
		const context = await newContext(browser, 'billing', DESKTOP)
		const page = await context.newPage()
		await logIn(page, email)
		expect(await headerBalance(page)).toBe(5)

		// The offer: three packs, two plans, the portal and the invoices.
		await page
			.getByRole('navigation', { name: 'Navigation principale' })
			.getByRole('link', { name: /^Crédits/ })
			.click()
		await waitForPath(page, '/credits')
		await page.getByRole('heading', { name: 'Acheter des crédits' }).waitFor()
		const offer = page.getByRole('region', { name: 'Acheter des crédits' })
		const pack = offer.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Découverte', exact: true }) })
		expect(await pack.textContent()).toMatch(/20 crédits.*19,00\s€ TTC/)
		for (const name of ['Agence', 'Réseau']) await offer.getByRole('button', { name: `Acheter le pack ${name}` }).waitFor()
		await offer.getByRole('button', { name: 'S’abonner à Solo' }).waitFor()
		await offer.getByRole('button', { name: 'S’abonner à Équipe' }).waitFor()
		await offer.getByRole('button', { name: 'Gérer mon abonnement et mes moyens de paiement' }).waitFor()
		await offer.getByRole('link', { name: 'Mes factures' }).waitFor()
		await shot(page, '50-credits-offer-desktop')

		const phone = await newContext(browser, 'billing-phone', { ...PHONE, storageState: await context.storageState() })
		const phonePage = await phone.newPage()
		await phonePage.goto('/credits')
		await phonePage.getByRole('button', { name: 'Acheter le pack Découverte' }).waitFor()
		await shot(phonePage, '51-credits-offer-phone')

		// The pack's button leads to the fake's hosted checkout page (another origin).
		const buy = pack.getByRole('button', { name: 'Acheter le pack Découverte' })
		await hydrated(buy)
		await buy.click()
		await page.waitForURL((url) => url.origin === stripeUrl && url.pathname.startsWith('/pay/cs_'))
		const sessionId = pathOf(page).slice('/pay/'.length)
		await page.getByRole('heading', { name: 'Payer' }).waitFor()
		await page.getByText(email).waitFor()
		const summary = page.getByRole('table')
		expect(await summary.textContent()).toContain('Renzo — Découverte (20 crédits)')
		// Automatic tax, price including VAT: 20 % of 19,00 € is already in it.
		expect(await summary.getByRole('row').filter({ hasText: 'Total' }).textContent()).toMatch(/19,00\s€/)
		expect(await summary.getByRole('row').filter({ hasText: 'Dont TVA' }).textContent()).toMatch(/3,17\s€/)
		await shot(page, '52-checkout')

		// What Checkout asks of a business: name, billing address, company and VAT number.
		await page.getByLabel('Nom', { exact: true }).fill('Claire Martin')
		await page.getByLabel('Adresse', { exact: true }).fill('12 rue de la République')
		await page.getByLabel('Code postal', { exact: true }).fill('69002')
		await page.getByLabel('Ville', { exact: true }).fill('Lyon')
		await page.getByLabel('Raison sociale', { exact: true }).fill('Agence Martin Immobilier')
		await page.getByLabel('Numéro de TVA', { exact: true }).fill('FR40303265045')
		await shot(page, '53-checkout-filled')
		await page.getByRole('button', { name: 'Payer' }).click()

		// Back on the app: the fake delivered its events before redirecting, the worker grants.
		await waitForPath(page, '/credits/thanks')
		expect(new URL(page.url()).searchParams.get('session')).toBe(sessionId)
		await page.getByRole('heading', { name: 'Merci !' }).waitFor()
		const first = (await thanksStatus(page).textContent())?.trim() ?? ''
		expect(first.startsWith(PENDING) || first === PAID, first).toBe(true)
		await shot(page, '54-thanks-first')

		// A page only shows what the webhook left: reload until the worker has granted.
		const waitStarted = Date.now()
		let reloads = 0
		while ((await thanksStatus(page).textContent())?.trim() !== PAID) {
			expect(Date.now() - waitStarted, `still « ${await thanksStatus(page).textContent()} » after ${reloads} reload(s)`).toBeLessThan(
				CREDITS_TIMEOUT_MS,
			)
			await page.waitForTimeout(RELOAD_EVERY_MS)
			await page.reload()
			reloads++
		}
		console.log(`[billing] credits granted after ${reloads} reload(s), ${Date.now() - waitStarted} ms after the redirect`)
		expect(await headerBalance(page)).toBe(25)
		await shot(page, '55-thanks-paid')

		// The ledger: one purchase of +20, balance 25, linked to the invoices.
		await page.getByRole('link', { name: 'Retour aux crédits' }).click()
		await waitForPath(page, '/credits')
		await page.getByText('25 crédits', { exact: true }).waitFor()
		expect(await headerBalance(page)).toBe(25)
		const purchaseRow = page.getByRole('row').filter({ hasText: 'Achat de crédits' })
		await purchaseRow.waitFor()
		expect(await purchaseRow.count()).toBe(1)
		const cells = (await purchaseRow.getByRole('cell').allTextContents()).map((text) => text.trim())
		expect(cells.slice(2)).toEqual(['+20', '25'])
		await shot(page, '56-credits-after-purchase')

		// The invoice, read from Stripe, with its PDF.
		await purchaseRow.getByRole('link', { name: 'Voir les factures' }).click()
		await waitForPath(page, '/credits/invoices')
		await page.getByRole('heading', { name: 'Factures' }).waitFor()
		const invoiceRows = page.getByRole('row').filter({ has: page.getByRole('cell') })
		expect(await invoiceRows.count()).toBe(1)
		const invoiceCells = (await invoiceRows.getByRole('cell').allTextContents()).map((text) => text.trim())
		expect(invoiceCells[0]).toMatch(/^[A-Z0-9]{8}-0001$/)
		expect(invoiceCells[2]).toMatch(/^19,00\s€$/)
		expect(invoiceCells[3]).toBe('Payée')
		const pdfLink = invoiceRows.getByRole('link', { name: `Télécharger la facture ${invoiceCells[0]}` })
		const pdfUrl = (await pdfLink.getAttribute('href')) ?? ''
		expect(pdfUrl).toMatch(new RegExp(`^${stripeUrl.replaceAll('.', '\\.')}/i/in_\\w+/pdf$`))
		const pdf = await context.request.get(pdfUrl)
		expect(pdf.status()).toBe(200)
		expect(pdf.headers()['content-type']).toBe('application/pdf')
		expect((await pdf.body()).subarray(0, 5).toString('latin1')).toBe('%PDF-')
		await shot(page, '57-invoices')
		await phonePage.goto('/credits/invoices')
		await phonePage.getByRole('link', { name: `Télécharger la facture ${invoiceCells[0]}` }).waitFor()
		await shot(phonePage, '58-invoices-phone')

		// Coming back to the success page (a reload, the browser's history) grants nothing more.
		await page.goto(thanksUrl(sessionId))
		expect((await thanksStatus(page).textContent())?.trim()).toBe(PAID)
		await page.goto('/credits')
		expect(await headerBalance(page)).toBe(25)
		expect(await page.getByRole('row').filter({ hasText: 'Achat de crédits' }).count()).toBe(1)
		paidSessionId = sessionId
	})

	test('/credits/thanks with a session id that is not a paid one of this agent grants nothing', async () => {
		expect(paidSessionId, 'the purchase test (above) pays the session this one reuses').toBeDefined()
		const context = await newContext(browser, 'billing-other', DESKTOP)
		const page = await context.newPage()
		await logIn(page, freshEmail('billing-other'))
		expect(await headerBalance(page)).toBe(5)

		// Its own checkout, left unpaid on the hosted page: still « en cours ».
		await page.goto('/credits')
		const buy = page.getByRole('button', { name: 'Acheter le pack Découverte' })
		await hydrated(buy)
		await buy.click()
		await page.waitForURL((url) => url.origin === inject('stripeUrl') && url.pathname.startsWith('/pay/cs_'))
		const unpaid = pathOf(page).slice('/pay/'.length)

		// Another agent's paid session, the own unpaid one, a made-up one and garbage.
		const made = `cs_test_${crypto.randomBytes(16).toString('hex')}`
		for (const sessionId of [paidSessionId!, unpaid, made, '../../credits', '']) {
			await page.goto(thanksUrl(sessionId))
			await page.getByRole('heading', { name: 'Merci !' }).waitFor()
			const status = (await thanksStatus(page).textContent())?.trim() ?? ''
			expect(status, sessionId).not.toContain('Paiement reçu')
			if (sessionId === unpaid) expect(status).toMatch(new RegExp(`^${PENDING}`))
			expect(await headerBalance(page)).toBe(5)
		}
		await shot(page, '59-thanks-foreign-session')

		// Nothing reaches the ledger later either (the worker polls every second).
		await page.waitForTimeout(2 * RELOAD_EVERY_MS)
		await page.goto('/credits')
		expect(await headerBalance(page)).toBe(5)
		await page.getByText('5 crédits', { exact: true }).waitFor()
		expect(await page.getByRole('row').filter({ hasText: 'Achat de crédits' }).count()).toBe(0)
		expect(await page.getByRole('row').filter({ hasText: 'Crédits de bienvenue' }).count()).toBe(1)
	})
})
