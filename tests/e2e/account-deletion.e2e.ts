// Deleting one's account, end to end on a phone: the settings' danger zone, the emailed code, the
// logged-out confirmation page, then the worker's erasure and its farewell email (real SMTP).
import { type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { logIn } from './agent.ts'
import { PHONE, freshEmail, launchBrowser, newContext, shot, waitForPath } from './browser.ts'
import { loginCode, waitForMail } from './mailbox.ts'

let browser: Browser
beforeAll(async () => {
	browser = await launchBrowser()
})
afterAll(async () => {
	await browser?.close()
})

describe('account deletion', () => {
	test('from the danger zone to the farewell email; the address then starts a brand-new account', async () => {
		const email = freshEmail('suppression')
		const context = await newContext(browser, 'delete-account', PHONE)
		const page = await context.newPage()
		await logIn(page, email)

		await page.goto('/settings')
		await page.getByRole('heading', { name: 'Zone de danger' }).waitFor()
		await shot(page, 'delete-account-00-settings')
		await page.getByRole('link', { name: 'Supprimer mon compte' }).click()
		await waitForPath(page, '/settings/delete-account')
		await page.getByRole('heading', { name: 'Supprimer mon compte', level: 1 }).waitFor()
		await page.getByRole('heading', { name: 'Ce qui est conservé' }).waitFor()
		await shot(page, 'delete-account-01-page')

		// Not ticked: a French error next to the box, nothing sent.
		await page.getByRole('button', { name: 'Recevoir le code de confirmation' }).click()
		await page.getByRole('alert').filter({ hasText: 'Cochez la case' }).waitFor()

		const asked = Date.now()
		await page.getByLabel('Je comprends que la suppression de mon compte est définitive.').check()
		await page.getByRole('button', { name: 'Recevoir le code de confirmation' }).click()
		await page.getByLabel('Code de confirmation à 6 chiffres').waitFor()
		const mail = await waitForMail(email, { since: asked })
		expect(mail.subject).toMatch(/^Confirmez la suppression de votre compte Renzo : \d{6}$/)
		const code = loginCode(mail)

		const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
		await page.getByLabel('Code de confirmation à 6 chiffres').fill(wrong)
		await page.getByRole('button', { name: 'Supprimer définitivement mon compte' }).click()
		await page.getByRole('alert').filter({ hasText: 'Code incorrect. Il vous reste 4 essais.' }).waitFor()
		await shot(page, 'delete-account-02-wrong-code')

		const confirmed = Date.now()
		await page.getByLabel('Code de confirmation à 6 chiffres').fill(code)
		await page.getByRole('button', { name: 'Supprimer définitivement mon compte' }).click()
		await waitForPath(page, '/settings/delete-account/done')
		await page.getByRole('heading', { name: 'Votre compte est en cours de suppression' }).waitFor()
		await shot(page, 'delete-account-03-done')

		// The worker erases the account and says goodbye.
		const farewell = await waitForMail(email, { since: confirmed, timeoutMs: 30_000 })
		expect(farewell.subject).toBe('Votre compte Renzo a été supprimé')

		// Logged out; the same address is now a stranger: logging in creates a new account.
		await page.goto('/settings')
		await waitForPath(page, '/login')
		await logIn(page, email)
		await page.getByRole('status').filter({ hasText: 'Bienvenue sur Renzo' }).waitFor()
	})
})
