// Outgoing webhooks in the settings, on a phone: register an endpoint (a French error first), the
// secret shown once, the endpoint's page, disable / enable, delete. Nothing is sent: this app runs
// in production mode, where a webhook only goes to a public address, and tests never leave
// 127.0.0.1 (deliveries are covered by app/modules/webhooks-out/*.test.ts with a local receiver).
import { type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { logIn } from './agent.ts'
import { PHONE, freshEmail, launchBrowser, newContext, shot, waitForPath } from './browser.ts'

let browser: Browser
beforeAll(async () => {
	browser = await launchBrowser()
})
afterAll(async () => {
	await browser?.close()
})

describe('webhooks settings', () => {
	test('register, secret shown once, manage, disable, enable, delete', async () => {
		const context = await newContext(browser, 'webhooks', PHONE)
		const page = await context.newPage()
		await logIn(page, freshEmail('webhooks'))

		await page.goto('/settings')
		await page.getByRole('link', { name: 'Webhooks : prévenir votre logiciel automatiquement' }).click()
		await waitForPath(page, '/settings/webhooks')
		await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor()
		await page.getByText('Aucun webhook pour l’instant.').waitFor()

		// http:// is refused next to the field, in French.
		await page.getByLabel('Adresse du récepteur (HTTPS)').fill('http://hooks.agence-exemple.fr/renzo')
		await page.getByRole('button', { name: 'Ajouter le webhook' }).click()
		await page.getByRole('alert').filter({ hasText: 'L’adresse doit commencer par https://' }).waitFor()
		await shot(page, 'webhooks-01-error')

		await page.getByLabel('Adresse du récepteur (HTTPS)').fill('https://hooks.agence-exemple.fr/renzo')
		await page.getByLabel('Description').fill('Logiciel d’annonces')
		await page.getByRole('checkbox', { name: /Crédits bas/ }).uncheck()
		await page.getByRole('button', { name: 'Ajouter le webhook' }).click()
		await page.getByRole('heading', { name: 'Secret de signature' }).waitFor()
		const secret = (await page.locator('code', { hasText: 'whsec_' }).textContent())?.trim() ?? ''
		expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/)
		await shot(page, 'webhooks-02-secret')

		// Shown once: a reload no longer has it.
		await page.reload()
		await page.getByRole('heading', { name: 'Vos webhooks' }).waitFor()
		expect(await page.content()).not.toContain(secret)
		await page.getByText('Transformation réussie · Transformation en échec · Lot terminé').waitFor()

		await page.getByRole('link', { name: 'Gérer https://hooks.agence-exemple.fr/renzo' }).click()
		await page.getByRole('heading', { name: 'Journal des envois' }).waitFor()
		await page.getByText('Aucune notification envoyée pour l’instant.').waitFor()
		await shot(page, 'webhooks-03-endpoint')

		await page.getByRole('button', { name: 'Désactiver' }).click()
		await page.getByRole('status').filter({ hasText: 'Webhook désactivé.' }).waitFor()
		await page.getByText('Vous avez désactivé ce webhook le').waitFor()
		await page.getByRole('button', { name: 'Réactiver' }).click()
		await page.getByRole('status').filter({ hasText: 'Webhook réactivé.' }).waitFor()

		await page.getByText('Supprimer le webhook').first().click()
		await page.getByLabel('Je confirme la suppression').check()
		await page.getByRole('button', { name: 'Supprimer le webhook' }).click()
		await waitForPath(page, '/settings/webhooks')
		await page.getByRole('status').filter({ hasText: 'Webhook supprimé.' }).waitFor()
		await page.getByText('Aucun webhook pour l’instant.').waitFor()
		await shot(page, 'webhooks-04-deleted')
	})
})
