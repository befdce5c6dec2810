// Transformations, end to end, against the Replicate fake started by global-setup (every
// prediction runs ~1.5 s, then its signed webhook reaches the app): a virtual staging ordered on
// a photo's page, followed live up to « Terminée » without reloading, compared with the
// before/after slider from the keyboard and downloaded in full resolution; and a batch
// enhancement (local, Sharp) of two photos ordered from the project page.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type Browser, type Locator, type Page } from 'playwright-core'
import sharp from 'sharp'
import { DIGITAL_SOURCE_TYPE } from '#app/modules/transformations/marking.server.ts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { DESKTOP, PHONE, freshEmail, launchBrowser, newContext, pathOf, shot, waitForPath } from './browser.ts'
import { headerBalance, logIn } from './agent.ts'

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/photos')
/** The longest side of a result's thumbnail (app/modules/photos/image.server.ts `variantSizes`). */
const THUMBNAIL_SIDE = 400
/** Worker poll + fake delay + webhook + completion job, with room for a slow machine. */
const LIVE_TIMEOUT_MS = 30_000

declare global {
	interface Window {
		/** Set by the test before ordering: a full page load would drop it. */
		__sameDocument?: string
		/** Every distinct state of the watched statuses, in the order the page showed them. */
		__seen?: string[]
	}
}

let browser: Browser
let dir: string
beforeAll(async () => {
	browser = await launchBrowser()
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-e2e-transformations-'))
	// An upright 1600 × 2400 photo (EXIF-rotated JPEG) and a small PNG, under an agent's names.
	fs.copyFileSync(path.join(FIXTURES, 'rotated-gps-p3.jpg'), path.join(dir, 'séjour vide.jpg'))
	fs.copyFileSync(path.join(FIXTURES, 'rotated-gps-p3.jpg'), path.join(dir, 'chambre.jpg'))
	fs.copyFileSync(path.join(FIXTURES, 'plain.png'), path.join(dir, 'cuisine.png'))
})
afterAll(async () => {
	await browser?.close()
	fs.rmSync(dir, { recursive: true, force: true })
})

/**
 * Runs `action` (a client-side navigation) and waits until the page it leads to has opened its
 * live stream: the EventSource is created in an effect, so the page is hydrated by then.
 */
async function andLive(page: Page, action: () => Promise<unknown>) {
	const opened = page.waitForRequest((request) => new URL(request.url()).pathname.endsWith('/events'))
	await action()
	await opened
}

async function createProject(page: Page, name: string) {
	await page.getByRole('link', { name: 'Projets' }).click()
	await waitForPath(page, '/projects')
	await page.getByLabel('Nom du projet').fill(name)
	await andLive(page, () => page.getByRole('button', { name: 'Créer le projet' }).click())
	await page.getByRole('heading', { name }).waitFor()
}

/** Uploads `names` from the temp folder and waits until every tile shows its thumbnail, live. */
async function upload(page: Page, names: string[]) {
	await page.getByLabel('choisissez des fichiers').setInputFiles(names.map((name) => path.join(dir, name)))
	for (const name of names) await page.getByText(`Photo envoyée : ${name}`).waitFor({ timeout: 30_000 })
	// The worker makes the thumbnails; its "photo ready" event refreshes the grid (no reload).
	for (const name of names)
		await page
			.getByRole('listitem')
			.filter({ has: page.getByRole('link', { name: `Voir la photo ${name}` }) })
			.filter({ hasText: 'Prête' })
			.locator('img')
			.waitFor({ timeout: 45_000 })
}

/**
 * Marks the document and records, on every DOM change, the texts of `selector` joined by " | "
 * whenever they differ from the last record: what the user saw, without polling gaps.
 */
async function watch(page: Page, selector: string) {
	await page.evaluate((selector) => {
		window.__sameDocument = 'yes'
		window.__seen = []
		const seen = window.__seen
		const record = () => {
			const now = [...document.querySelectorAll(selector)].map((el) => el.textContent?.trim() ?? '').join(' | ')
			if (seen.at(-1) !== now) seen.push(now)
		}
		record()
		new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true })
	}, selector)
}

async function seen(page: Page) {
	return page.evaluate(() => ({ sameDocument: window.__sameDocument, seen: window.__seen ?? [] }))
}

async function valueText(slider: Locator) {
	return slider.getAttribute('aria-valuetext')
}

describe('transformations', () => {
	test('a virtual staging ordered on a photo follows live to « Terminée », is compared with the keyboard and downloaded', async () => {
		const context = await newContext(browser, 'staging', DESKTOP)
		const page = await context.newPage()
		await logIn(page, freshEmail('staging'))
		expect(await headerBalance(page)).toBe(5)
		await createProject(page, 'Studio Paris 11e – Oberkampf')
		await upload(page, ['séjour vide.jpg'])

		await andLive(page, () => page.getByRole('link', { name: 'Voir la photo séjour vide.jpg' }).click())
		await page.getByRole('heading', { name: 'séjour vide.jpg' }).waitFor()
		const history = page.getByRole('region', { name: 'Historique des transformations' })
		await history.getByText('Aucune transformation pour cette photo.').waitFor()
		const before = page.getByRole('img', { name: 'séjour vide.jpg' })
		const modelInput = await before.evaluate((img: HTMLImageElement) => ({ width: img.naturalWidth, height: img.naturalHeight }))
		// The model is sent the preview (≤ 1600 px, no metadata): upright 1600 × 2400 → 1067 × 1600.
		expect(modelInput).toEqual({ width: 1067, height: 1600 })

		const form = page.getByRole('form', { name: 'Transformer' })
		await form.getByRole('radio', { name: /^Home staging virtuel/ }).check()
		await form.getByRole('combobox', { name: 'Pièce', exact: true }).selectOption({ label: 'Salon' })
		await form.getByRole('combobox', { name: 'Style', exact: true }).selectOption({ label: 'Scandinave' })
		await form.getByRole('radio', { name: 'Standard', exact: true }).check()
		await form.getByRole('checkbox', { name: /Photo virtuellement aménagée/ }).check()
		await form.getByText('Solde : 5 crédits').waitFor()
		const submit = form.getByRole('button', { name: 'Lancer (2 crédits)' })
		await submit.waitFor()
		await shot(page, '30-staging-order-form')

		await watch(page, '#history-title + ol .pill')
		await submit.click()
		await page.getByRole('status').filter({ hasText: '1 transformation(s) lancée(s), 2 crédit(s) réservé(s).' }).waitFor()
		const item = history.getByRole('listitem').filter({ hasText: 'Home staging virtuel · Salon · Scandinave · Standard' })
		await item.waitFor()
		// The credits are reserved at once: the header's balance already shows it.
		expect(await headerBalance(page)).toBe(3)
		await shot(page, '31-staging-running')

		await item.locator('.pill').filter({ hasText: 'Terminée' }).waitFor({ timeout: LIVE_TIMEOUT_MS })
		const live = await seen(page)
		// Same document all along: the statuses came through the event stream, not a reload.
		expect(live.sameDocument).toBe('yes')
		expect(live.seen.at(-1)).toBe('Terminée')
		expect(live.seen.slice(0, -1).some((state) => state === 'En attente' || state === 'En cours')).toBe(true)
		expect(live.seen.every((state) => ['', 'En attente', 'En cours', 'Terminée'].includes(state))).toBe(true)

		// The comparison replaced the plain preview, without a reload either.
		const compare = page.getByRole('region', { name: 'Comparer avant/après' })
		const after = compare.getByRole('img', { name: 'séjour vide.jpg après transformation (Home staging virtuel)' })
		await after.waitFor()
		await expect.poll(() => after.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true)
		const slider = compare.getByRole('slider', { name: 'Comparer avant et après' })
		expect(await valueText(slider)).toBe('Avant 50 %, Après 50 %')
		// Read left to right: « Avant » tagged on the left, « Après » on the right.
		const tagLeft = (name: string) =>
			compare
				.locator('.before-after__tag', { hasText: name })
				.boundingBox()
				.then((box) => box!.x)
		expect(await tagLeft('Avant')).toBeLessThan(await tagLeft('Après'))
		await slider.focus()
		await page.keyboard.press('ArrowLeft')
		expect(await slider.inputValue()).toBe('49')
		await expect.poll(() => valueText(slider)).toBe('Avant 49 %, Après 51 %')
		// The "after" image shows from the divider to the right edge.
		const afterPane = compare.locator('.before-after__pane--after')
		await expect.poll(() => afterPane.evaluate((pane) => getComputedStyle(pane).clipPath)).toBe('inset(0px 0px 0px 49%)')
		await page.keyboard.press('End')
		await expect.poll(() => valueText(slider)).toBe('Avant 100 %, Après 0 %')
		await page.keyboard.press('PageDown')
		await expect.poll(() => valueText(slider)).toBe('Avant 90 %, Après 10 %')
		await shot(page, '32-staging-done-compare')

		// The full-resolution result: the model's own size (captioned, so re-encoded as JPEG).
		const [download] = await Promise.all([
			page.waitForEvent('download'),
			item.getByRole('link', { name: 'Télécharger le résultat en pleine résolution' }).click(),
		])
		expect(download.suggestedFilename()).toBe('séjour vide - virtual_staging - scandinavian.jpg')
		const saved = path.join(dir, 'result.jpg')
		await download.saveAs(saved)
		const bytes = fs.readFileSync(saved)
		expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff])
		const metadata = await sharp(bytes).metadata()
		expect(metadata.format).toBe('jpeg')
		// Marked as AI-made for machines too (EU AI Act art. 50), inside the downloaded file.
		expect(metadata.xmp?.toString('utf8')).toContain(`Iptc4xmpExt:DigitalSourceType="${DIGITAL_SOURCE_TYPE}"`)
		expect({ width: metadata.width, height: metadata.height }).toEqual(modelInput)
		expect(Math.max(metadata.width, metadata.height)).toBeGreaterThan(THUMBNAIL_SIDE)
		expect(
			await sharp(bytes)
				.stats()
				.then((stats) => stats.channels.length),
		).toBeGreaterThanOrEqual(3)
		expect(pathOf(page)).toMatch(/^\/projects\/[\w-]+\/photos\/[\w-]+$/)
		expect((await seen(page)).sameDocument).toBe('yes')

		// Captured on success: the balance stays 2 credits down, and the project counts them.
		expect(await headerBalance(page)).toBe(3)
		await form.getByText('Solde : 3 crédits').waitFor()
		await page.getByRole('link', { name: 'Retour au projet' }).click()
		await page.getByText('2 crédit(s) utilisé(s)').waitFor()

		// The agent on a visit, on the phone: the same result, the slider under the thumb.
		const phone = await newContext(browser, 'staging-phone', { ...PHONE, storageState: await context.storageState() })
		const phonePage = await phone.newPage()
		await phonePage.goto(page.url())
		await phonePage.getByRole('link', { name: 'Voir la photo séjour vide.jpg' }).click()
		await phonePage.getByRole('slider', { name: 'Comparer avant et après' }).waitFor()
		const phoneHistory = phonePage.getByRole('region', { name: 'Historique des transformations' })
		await phoneHistory.getByText('Terminée').waitFor()
		// The history's thumbnails load lazily: scrolled to, the result's thumbnail shows.
		const phoneThumb = phoneHistory.locator('img').first()
		await phoneThumb.scrollIntoViewIfNeeded()
		await expect.poll(() => phoneThumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true)
		await shot(phonePage, '33-staging-done-phone')
	})

	test('a batch enhancement of two photos, ordered from the project page, finishes live', async () => {
		const context = await newContext(browser, 'batch', DESKTOP)
		const page = await context.newPage()
		await logIn(page, freshEmail('batch'))
		await createProject(page, 'Maison Nantes – Procé')
		await upload(page, ['cuisine.png', 'chambre.jpg'])

		const form = page.getByRole('form', { name: 'Transformer la sélection' })
		await form.getByRole('radio', { name: /^Amélioration/ }).check()
		await page.getByRole('checkbox', { name: 'Sélectionner cuisine.png' }).check()
		await page.getByRole('checkbox', { name: 'Sélectionner chambre.jpg' }).check()
		const submit = form.getByRole('button', { name: 'Lancer (2 crédits)' })
		await submit.waitFor()
		await shot(page, '40-batch-selected')

		// What the page says about the batch: each tile's "n en cours" hint and the credits used.
		await watch(page, '.photo-tile .field-hint, h1 + p.muted')
		await submit.click()
		await page.getByRole('status').filter({ hasText: '2 transformation(s) lancée(s), 2 crédit(s) réservé(s).' }).waitFor()
		expect(await headerBalance(page)).toBe(3)
		await shot(page, '41-batch-ordered')

		await page.getByText('2 crédit(s) utilisé(s)').waitFor({ timeout: LIVE_TIMEOUT_MS })
		await expect.poll(() => page.getByText(/\d+ en cours/).count(), { timeout: LIVE_TIMEOUT_MS }).toBe(0)
		const live = await seen(page)
		expect(live.sameDocument).toBe('yes')
		expect(live.seen.some((state) => state.includes('1 en cours'))).toBe(true)
		expect(live.seen.at(-1)).toContain('2 crédit(s) utilisé(s)')
		expect(await headerBalance(page)).toBe(3)
		await shot(page, '42-batch-done')

		// Each photo's page shows its finished enhancement, with the comparison.
		for (const name of ['cuisine.png', 'chambre.jpg']) {
			await page.getByRole('link', { name: `Voir la photo ${name}` }).click()
			await page.getByRole('heading', { name }).waitFor()
			const item = page
				.getByRole('region', { name: 'Historique des transformations' })
				.getByRole('listitem')
				.filter({ hasText: 'Amélioration (lumière, couleurs, netteté) · Standard' })
			await item.locator('.pill').filter({ hasText: 'Terminée' }).waitFor()
			await page.getByRole('slider', { name: 'Comparer avant et après' }).waitFor()
			if (name === 'chambre.jpg') await shot(page, '43-batch-photo-done')
			await page.getByRole('link', { name: 'Retour au projet' }).click()
			await page.getByRole('heading', { name: 'Maison Nantes – Procé' }).waitFor()
		}
		expect((await seen(page)).sameDocument).toBe('yes')
	})
})
