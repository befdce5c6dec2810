import type { Page } from 'playwright-core'
import { waitForPath } from './browser.ts'
import { loginCode, waitForMail } from './mailbox.ts'

/** Logs `email` in the way an agent does: asks for the email, types the 6-digit code from it. */
export async function logIn(page: Page, email: string) {
	await page.goto('/login')
	const asked = Date.now()
	await page.getByLabel('Adresse e-mail').fill(email)
	await page.getByRole('button', { name: 'Recevoir mon lien de connexion' }).click()
	await waitForPath(page, '/login/verify')
	await page.getByLabel('Code à 6 chiffres').fill(loginCode(await waitForMail(email, { since: asked })))
	await page.getByRole('button', { name: 'Valider le code' }).click()
	await waitForPath(page, '/')
}

/** The balance badge of the header's Crédits link. */
export async function headerBalance(page: Page) {
	const link = page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: /^Crédits/ })
	return Number((await link.locator('.badge').textContent())?.trim())
}
