import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'
import { inject, onTestFinished } from 'vitest'

/** Debian's Chromium (no Playwright download here), headless, without calls home. */
export function launchBrowser(): Promise<Browser> {
	return chromium.launch({
		executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-dev-shm-usage',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run',
			'--disable-quic',
		],
	})
}

/** An iPhone-sized phone, as an agent on a visit would hold it. */
export const PHONE: BrowserContextOptions = {
	viewport: { width: 390, height: 844 },
	deviceScaleFactor: 2,
	isMobile: true,
	hasTouch: true,
	locale: 'fr-FR',
	timezoneId: 'Europe/Paris',
}

export const DESKTOP: BrowserContextOptions = {
	viewport: { width: 1280, height: 800 },
	locale: 'fr-FR',
	timezoneId: 'Europe/Paris',
}

/**
 * A fresh browser context (its own cookies) on the app, closed when the current test ends. If
 * the test failed, every page still open in it is saved first as `FAILED-<label>-<n>.png`.
 */
export async function newContext(browser: Browser, label: string, options: BrowserContextOptions): Promise<BrowserContext> {
	const context = await browser.newContext({ ...options, baseURL: inject('appUrl') })
	context.setDefaultTimeout(10_000)
	context.setDefaultNavigationTimeout(15_000)
	// An uncaught exception in a page fails the test, even if the page looked right.
	const pageErrors: string[] = []
	context.on('weberror', (error) => pageErrors.push(`${error.page()?.url() ?? '?'}: ${error.error().message}`))
	onTestFinished(async ({ task }) => {
		if (task.result?.state === 'fail')
			for (const [i, page] of context.pages().entries()) await shot(page, `FAILED-${label}-${i + 1}`).catch(() => {})
		await context.close()
		if (pageErrors.length) throw new Error(`Uncaught errors in the browser (${label}):\n${pageErrors.join('\n')}`)
	})
	return context
}

/** A full-page screenshot into test-results/e2e/<name>.png. */
export async function shot(page: Page, name: string) {
	const dir = inject('screenshotDir')
	fs.mkdirSync(dir, { recursive: true })
	await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true })
}

/** A new address per test: nothing carries over between tests (accounts, rate limits). */
export function freshEmail(tag: string) {
	return `${tag}-${crypto.randomBytes(4).toString('hex')}@agence-test.fr`
}

/** The path of the page's URL, e.g. "/login". */
export function pathOf(page: Page) {
	return new URL(page.url()).pathname
}

/** Waits until the page is at `pathname` (full navigations and client-side ones alike). */
export async function waitForPath(page: Page, pathname: string) {
	await page.waitForURL((url) => url.pathname === pathname)
}
