// Photos, end to end: log in, create a project, upload three photos at once (one HEIC from an
// iPhone), watch the progress bars, see the thumbnails, open one and download it.
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type Browser } from 'playwright-core'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { DESKTOP, freshEmail, launchBrowser, newContext, shot, waitForPath } from './browser.ts'
import { logIn } from './agent.ts'

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/photos')

let browser: Browser
let dir: string
beforeAll(async () => {
	browser = await launchBrowser()
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-e2e-photos-'))
	// Real-looking photos of a few megabytes, so the progress bars have something to show.
	const noise = (w: number, h: number) => sharp(crypto.randomBytes(w * h * 3), { raw: { width: w, height: h, channels: 3 } })
	await noise(2400, 1600).jpeg({ quality: 95 }).toFile(path.join(dir, 'séjour lumineux.jpg'))
	await noise(1800, 1200).png().toFile(path.join(dir, 'cuisine.png'))
	fs.copyFileSync(path.join(FIXTURES, 'iphone-portrait.heic'), path.join(dir, 'IMG_0042.HEIC'))
})
afterAll(async () => {
	await browser?.close()
	fs.rmSync(dir, { recursive: true, force: true })
})

describe('photos', () => {
	test('an agent creates a project, uploads three photos (one HEIC), opens one and downloads it', async () => {
		const context = await newContext(browser, 'photos', DESKTOP)
		const page = await context.newPage()
		await logIn(page, freshEmail('photos'))

		await page.getByRole('link', { name: 'Projets' }).click()
		await waitForPath(page, '/projects')
		await page.getByLabel('Nom du projet').fill('T3 Lyon 6e – Foch')
		await page.getByLabel('Adresse du bien (facultatif)').fill('12 avenue Foch, 69006 Lyon')
		await page.getByRole('button', { name: 'Créer le projet' }).click()
		await page.getByRole('heading', { name: 'T3 Lyon 6e – Foch' }).waitFor()
		await shot(page, '20-project-empty')

		// Three files at once through the file picker.
		await page
			.getByLabel('choisissez des fichiers')
			.setInputFiles(['séjour lumineux.jpg', 'cuisine.png', 'IMG_0042.HEIC'].map((name) => path.join(dir, name)))
		const bars = page.getByRole('progressbar')
		await bars.first().waitFor()
		expect(await bars.count()).toBe(3)
		await shot(page, '21-uploading')
		for (const name of ['séjour lumineux.jpg', 'cuisine.png', 'IMG_0042.HEIC'])
			await page.getByText(`Photo envoyée : ${name}`).waitFor({ timeout: 30_000 })

		// The worker makes the thumbnails; the page shows them after a refresh.
		const tiles = page.locator('.photo-tile img')
		const deadline = Date.now() + 45_000
		while ((await tiles.count()) < 3 && Date.now() < deadline) {
			await page.waitForTimeout(1000)
			await page.reload()
		}
		expect(await tiles.count()).toBe(3)
		for (const img of await tiles.all()) expect(await img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBe(true)
		await shot(page, '22-thumbnails')

		await page.getByRole('link', { name: 'Voir la photo IMG_0042.HEIC' }).click()
		await page.getByRole('heading', { name: 'IMG_0042.HEIC' }).waitFor()
		const preview = page.getByRole('img', { name: 'IMG_0042.HEIC' })
		await preview.waitFor()
		expect(await preview.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBeGreaterThan(0)
		await shot(page, '23-photo')

		const [download] = await Promise.all([
			page.waitForEvent('download'),
			page.getByRole('link', { name: 'Télécharger en pleine résolution' }).click(),
		])
		expect(download.suggestedFilename()).toBe('IMG_0042.HEIC')
		const saved = path.join(dir, 'downloaded.heic')
		await download.saveAs(saved)
		expect(fs.readFileSync(saved).equals(fs.readFileSync(path.join(FIXTURES, 'iphone-portrait.heic')))).toBe(true)
		await context.close()
	})
})
