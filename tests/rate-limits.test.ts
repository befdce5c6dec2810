import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { generate } from 'otplib'
import Stripe from 'stripe'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { confirmEnrolment, startEnrolment } from '#app/modules/auth/two-factor.server.ts'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { unseal } from '#app/utils/crypto.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { queuedEmailsTo, latestLoginEmail } from '#tests/utils/mail.ts'
import { readyPhoto, roomJpeg } from '#tests/utils/photos.ts'
import { startRealApp } from '#tests/utils/real-app.ts'
import { launchBrowser } from '#tests/e2e/browser.ts'
import { WebClient } from '#tests/utils/web-client.ts'

// Every rate-limited route over real HTTP, through Remix and the HTTP layer (a header set by an
// action only reaches the client if the route forwards it): the limit+1-th request gets 429, a
// positive whole Retry-After and the French message, leaves nothing behind, and another user or
// address still gets through. Small limits come from the environment.
const STRIPE_WEBHOOK_SECRET = 'whsec_rate_limit_test'
const LIMITS = {
	LOGIN_EMAILS_PER_ADDRESS_PER_HOUR: '2',
	UPLOADS_PER_USER_PER_HOUR: '2',
	ORDERS_PER_USER_PER_HOUR: '1',
	EXPORTS_PER_USER_PER_DAY: '1',
	WEBHOOKS_PER_IP_PER_MINUTE: '3',
}
let app: Awaited<ReturnType<typeof startRealApp>>
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

beforeAll(async () => {
	Object.assign(process.env, LIMITS, {
		// Nothing here reaches Stripe or Replicate: the routes only need their secrets.
		STRIPE_SECRET_KEY: 'sk_test_rate_limits',
		STRIPE_WEBHOOK_SECRET,
		STRIPE_API_URL: 'http://127.0.0.1:9',
		REPLICATE_API_TOKEN: 'r8_test_token',
		REPLICATE_BASE_URL: 'http://127.0.0.1:9/v1',
		REPLICATE_WEBHOOK_SECRET: `whsec_${crypto.randomBytes(32).toString('base64')}`,
	})
	// A trusted proxy header gives each test client its own address; the page's JavaScript is served for the uploader test.
	app = await startRealApp({ httpEnv: { TRUST_PROXY: true }, browser: true })
	await app.reloadEnv()
})
afterAll(async () => {
	await app?.close()
})

const newIp = () => `10.${crypto.randomInt(255)}.${crypto.randomInt(255)}.${crypto.randomInt(1, 255)}`
const newEmail = () => `agent.${crypto.randomBytes(4).toString('hex')}@agence-exemple.fr`

/** One browser at its own address. */
function browser(jar?: ConstructorParameters<typeof WebClient>[1]) {
	const ip = newIp()
	const client = new WebClient(app.url, jar)
	return {
		client,
		ip,
		get: (url: string, headers: Record<string, string> = {}) => client.get(url, { headers: { 'X-Forwarded-For': ip, ...headers } }),
		post: (url: string, fields: Record<string, string | string[]>) => client.post(url, fields, { headers: { 'X-Forwarded-For': ip } }),
	}
}

/** The 429 contract: status, Retry-After a positive whole number of seconds (at most `maxSeconds`). */
function expectRefused(response: Response, maxSeconds: number) {
	expect(response.status).toBe(429)
	const retryAfter = response.headers.get('Retry-After')
	expect(retryAfter).toMatch(/^[1-9]\d*$/)
	expect(Number(retryAfter)).toBeLessThanOrEqual(maxSeconds)
}

/** The files under a user's storage prefix (local driver). */
function storedFiles(userId: string) {
	const dir = path.join(process.env.STORAGE_DIR!, userId)
	return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length : 0
}

/** Files being written (the local driver's temporary folder). */
function tempFiles() {
	const dir = path.join(process.env.STORAGE_DIR!, '.tmp')
	return fs.existsSync(dir) ? fs.readdirSync(dir) : []
}

describe('rate limits over HTTP', () => {
	test('login emails: the 3rd for one address gets 429 in French, no email, no code; another address goes through', async () => {
		const me = browser()
		const email = newEmail()
		expect((await me.post('/login', { email })).status).toBe(302)
		expect((await me.post('/login', { email })).status).toBe(302)
		const refused = await me.post('/login', { email })
		expectRefused(refused, 3600)
		expect(await refused.text()).toMatch(/Trop de demandes\. Réessayez dans \d+ min\./)
		expect(await queuedEmailsTo(email)).toHaveLength(2)
		expect(await privileged().loginVerification.count({ where: { email } })).toBe(2)
		expect((await me.post('/login', { email: newEmail() })).status).toBe(302)
	})

	test('code check: the 5th wrong code locks with 429 and Retry-After; the right code is then refused too', async () => {
		const me = browser()
		const email = newEmail()
		expect((await me.post('/login', { email })).status).toBe(302)
		const { code } = await latestLoginEmail(email)
		const wrong = code === '000000' ? '111111' : '000000'
		for (let i = 0; i < 4; i++) expect((await me.post('/login/verify', { code: wrong })).status).toBe(400)
		const locked = await me.post('/login/verify', { code: wrong })
		expectRefused(locked, 15 * 60)
		expect(await locked.text()).toContain('Trop d’essais incorrects : ce code est bloqué. Demandez un nouvel e-mail.')
		const right = await me.post('/login/verify', { code })
		expectRefused(right, 15 * 60)
		expect(me.client.jar.get('__session')).toBeUndefined()
	})

	test('two-factor code check: the 5th wrong code gets 429 with Retry-After and the French message', async () => {
		const user = await loggedInUser()
		await startEnrolment(user.id)
		const { totpSecret } = await privileged().user.findUniqueOrThrow({ where: { id: user.id }, select: { totpSecret: true } })
		const secret = unseal<string>(totpSecret!)
		await confirmEnrolment({ userId: user.id, code: { kind: 'totp', value: await generate({ secret }) }, request: makeRequest('/') })
		const me = browser()
		expect((await me.post('/login', { email: user.email })).status).toBe(302)
		expect((await me.post('/login/verify', { code: (await latestLoginEmail(user.email)).code })).headers.get('Location')).toBe('/login/2fa')
		const wrong = (await generate({ secret })) === '000000' ? '111111' : '000000'
		for (let i = 0; i < 4; i++) expect((await me.post('/login/2fa', { code: wrong })).status).toBe(400)
		const locked = await me.post('/login/2fa', { code: wrong })
		expectRefused(locked, 15 * 60)
		expect(await locked.text()).toMatch(/Trop d’essais incorrects\. Réessayez dans \d+ min\./)
	})

	test('uploads: the 3rd gets 429 (JSON for the page’s uploader, a page without JavaScript); nothing stored, no temporary file left', async () => {
		const a = await loggedInUser()
		const b = await loggedInUser()
		const projectOf = async (userId: string) =>
			(await privileged().project.create({ data: { userId, name: 'Maison de ville' }, select: { id: true } })).id
		const [projectA, projectB] = [await projectOf(a.id), await projectOf(b.id)]
		const jpeg = await roomJpeg(320, 240)
		const upload = async (who: ReturnType<typeof browser>, projectId: string, bytes: Buffer, accept = 'application/json') => {
			const form = new FormData()
			form.append('photo', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'salon.jpg')
			const token = await who.client.csrf()
			return who.client.request(`/projects/${projectId}/upload?csrf=${token}`, {
				method: 'POST',
				body: form,
				headers: { Accept: accept, 'X-Forwarded-For': who.ip },
			})
		}
		const asA = browser(a.jar)
		expect((await upload(asA, projectA, jpeg)).status).toBe(200)
		expect((await upload(asA, projectA, jpeg)).status).toBe(200)
		const photos = await privileged().photo.count({ where: { userId: a.id } })
		const files = storedFiles(a.id)
		expect(files).toBeGreaterThan(0)

		// A big file still being sent when the answer is ready: the client gets the 429 (the body is read to the bin).
		const big = Buffer.concat([jpeg, crypto.randomBytes(8 * 1024 * 1024)])
		const refused = await upload(asA, projectA, big)
		expectRefused(refused, 3600)
		expect(await refused.json()).toEqual({
			error: 'rate_limited',
			message: expect.stringMatching(/^Trop de demandes en peu de temps\. Réessayez dans \d+ min\.$/),
			retryAfterSeconds: Number(refused.headers.get('Retry-After')),
		})
		const noScript = await upload(asA, projectA, jpeg, 'text/html,application/xhtml+xml')
		expectRefused(noScript, 3600)
		expect(noScript.headers.get('Content-Type')).toMatch(/^text\/html/)
		expect(await noScript.text()).toMatch(/<p role="alert">Trop de demandes en peu de temps\. Réessayez dans \d+ min\.<\/p>/)
		expect(await privileged().photo.count({ where: { userId: a.id } })).toBe(photos)
		expect(storedFiles(a.id)).toBe(files)
		expect(tempFiles()).toEqual([])
		expect(await privileged().auditEvent.findMany({ where: { userId: a.id, type: 'rate_limited' }, select: { data: true } })).toEqual([
			{ data: { rule: 'uploads' } },
		])

		expect((await upload(browser(b.jar), projectB, jpeg)).status).toBe(200)
	})

	// A browser is not part of `npm test`'s promise (Node 22 and nothing else): this one runs where
	// Chromium is installed — always in CI (.ci/run installs it before the suite).
	test.skipIf(!fs.existsSync(CHROMIUM))(
		'the project page’s uploader (Chromium) shows the French message on each refused file',
		async () => {
			const user = await loggedInUser()
			const project = await privileged().project.create({ data: { userId: user.id, name: 'Longère bretonne' }, select: { id: true } })
			const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-uploader-'))
			const jpeg = await roomJpeg(320, 240)
			// Some bigger files: the browser is still sending them when the 429 is ready.
			const names = ['salon.jpg', 'cuisine.jpg', 'chambre.jpg', 'jardin.jpg', 'garage.jpg']
			const files = names.map((name, i) => {
				const file = path.join(dir, name)
				fs.writeFileSync(file, i < 2 ? jpeg : Buffer.concat([jpeg, crypto.randomBytes(4 * 1024 * 1024)]))
				return file
			})
			const chromium = await launchBrowser()
			try {
				const context = await chromium.newContext({ locale: 'fr-FR' })
				await context.addCookies([{ name: '__session', value: user.jar.get('__session')!, url: app.url }])
				const page = await context.newPage()
				await page.goto(`${app.url}/projects/${project.id}`)
				const input = page.getByLabel('choisissez des fichiers')
				// Hydrated (React's props on the element): before that, choosing files does nothing without a submit.
				await expect.poll(() => input.evaluate((element) => Object.keys(element).some((key) => key.startsWith('__reactProps')))).toBe(true)
				// The first two one after the other (both within the budget), then three at once.
				for (const file of files.slice(0, 2)) {
					await input.setInputFiles(file)
					await page.getByText(`Photo envoyée : ${path.basename(file)}`).waitFor({ timeout: 30_000 })
				}
				await input.setInputFiles(files.slice(2))
				const refused = page.locator('.upload-failed')
				await refused.nth(2).waitFor({ timeout: 60_000 })
				for (const name of names.slice(2)) {
					await expect
						.poll(() => page.locator('.upload-item', { hasText: name }).locator('[role="status"]').textContent())
						.toMatch(/^Trop de demandes en peu de temps\. Réessayez dans \d+ min\.$/)
				}
			} finally {
				await chromium.close()
				fs.rmSync(dir, { recursive: true, force: true })
			}
			expect(await privileged().photo.count({ where: { userId: user.id } })).toBe(2)
		},
	)

	test('transformation orders: the 2nd in the hour gets 429 on the page, nothing ordered, no credit reserved', async () => {
		const owner = async () => {
			const user = await loggedInUser()
			const project = await privileged().project.create({ data: { userId: user.id, name: 'Appartement Bordeaux' }, select: { id: true } })
			await grant(privileged(), { userId: user.id, credits: 10, reason: 'purchase', idempotencyKey: `t:${user.id}` })
			const photos = [await readyPhoto(user.id, project.id), await readyPhoto(user.id, project.id)]
			return { user, projectId: project.id, photos }
		}
		const a = await owner()
		const b = await owner()
		const order = (who: ReturnType<typeof browser>, projectId: string, photoId: string) =>
			who.post(`/projects/${projectId}`, { intent: 'order', kind: 'enhancement', quality: 'standard', photoId })
		const asA = browser(a.user.jar)
		expect((await order(asA, a.projectId, a.photos[0]!)).status).toBe(302)
		const state = async () => ({
			transformations: await privileged().transformation.count({ where: { userId: a.user.id } }),
			ledger: await privileged().creditLedger.count({ where: { userId: a.user.id } }),
			balance: (await privileged().user.findUniqueOrThrow({ where: { id: a.user.id } })).creditBalance,
		})
		const before = await state()
		expect(before.transformations).toBe(1)
		const refused = await order(asA, a.projectId, a.photos[1]!)
		expectRefused(refused, 3600)
		expect(refused.headers.get('Content-Type')).toMatch(/^text\/html/)
		expect(await refused.text()).toMatch(/role="alert">Trop de demandes en peu de temps\. Réessayez dans \d+ min\.</)
		expect(await state()).toEqual(before)
		// The photo page orders through the same budget.
		expectRefused(await asA.post(`/projects/${a.projectId}/photos/${a.photos[1]}`, { intent: 'order', kind: 'enhancement' }), 3600)
		expect(await state()).toEqual(before)

		expect((await order(browser(b.user.jar), b.projectId, b.photos[0]!)).status).toBe(302)
	})

	test('data exports: the 2nd in 24 h gets 429 with Retry-After and the French message, no row, no job', async () => {
		const a = await loggedInUser()
		const b = await loggedInUser()
		const asA = browser(a.jar)
		expect((await asA.post('/settings/export', {})).status).toBe(302)
		// The first one is done: only the daily budget stands in the way.
		await privileged().dataExport.updateMany({ where: { userId: a.id }, data: { status: 'failed' } })
		const refused = await asA.post('/settings/export', {})
		expectRefused(refused, 24 * 3600)
		expect(await refused.text()).toContain('Vous avez demandé 1 exports en 24 heures. Réessayez dans 24 h.')
		expect(await privileged().dataExport.count({ where: { userId: a.id } })).toBe(1)
		expect((await browser(b.jar).post('/settings/export', {})).status).toBe(302)
	})

	test('incoming webhooks: per address, the 4th call in the minute gets 429 before its body is read; another address goes through', async () => {
		const event = (id: string) =>
			JSON.stringify({ id, object: 'event', type: 'customer.created', data: { object: { id: 'cus_1', object: 'customer' } } })
		const stripe = (ip: string, body: string, signature: string) =>
			fetch(`${app.url}/webhooks/stripe`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature, 'X-Forwarded-For': ip },
				body,
			})
		const signed = (body: string) => Stripe.webhooks.generateTestHeaderString({ payload: body, secret: STRIPE_WEBHOOK_SECRET })
		const sender = newIp()
		for (let i = 0; i < 3; i++) expect((await stripe(sender, event('evt_forged'), 't=1,v1=forged')).status).toBe(400)
		// Even a correctly signed event is refused now, and not stored.
		const body = event(`evt_${crypto.randomBytes(6).toString('hex')}`)
		const refused = await stripe(sender, body, signed(body))
		expectRefused(refused, 60)
		expect(await refused.json()).toMatchObject({
			error: 'rate_limited',
			message: expect.stringMatching(/^Trop de demandes en peu de temps/),
		})
		expect(await privileged().webhookEvent.count({ where: { provider: 'stripe' } })).toBe(0)
		// Replicate's endpoint counts against the same address.
		const replicate = await fetch(`${app.url}/webhooks/replicate`, { method: 'POST', headers: { 'X-Forwarded-For': sender }, body: '{}' })
		expectRefused(replicate, 60)

		const other = await stripe(newIp(), body, signed(body))
		expect(other.status).toBe(200)
		expect(await privileged().webhookEvent.count({ where: { provider: 'stripe' } })).toBe(1)
	})
})
