import crypto from 'node:crypto'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createApiKey } from '#app/modules/api/keys.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { startServerProcess } from '#tests/utils/app-process.ts'
import { CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { latestLoginEmail } from '#tests/utils/mail.ts'
import { WebClient } from '#tests/utils/web-client.ts'
import { snapshotOf } from './fixtures.ts'

// Attacks on the real server (server.ts as a child process), one browser per WebClient:
// session fixation, CSRF, open redirects through the login, oversized bodies, SQL-looking and
// HTML-looking input in every text field, traversal in storage keys and download names, a
// replayed magic link and a brute-forced login code. README.md in this folder indexes these and
// the attacks covered elsewhere.

let server: Awaited<ReturnType<typeof startServerProcess>>

beforeAll(async () => {
	server = await startServerProcess()
})

afterAll(async () => {
	await server?.stop()
})

const newEmail = (label: string) => `${label}.${crypto.randomBytes(4).toString('hex')}@agence-exemple.fr`

/** The login of the real site: email form, then the 6-digit code of the email (read from the queued job). */
async function logIn(browser: WebClient, email: string, options: { redirectTo?: string } = {}) {
	const asked = await browser.post('/login', { email, ...(options.redirectTo === undefined ? {} : { redirectTo: options.redirectTo }) })
	expect(asked.status, await asked.text()).toBe(302)
	const next = asked.headers.get('location')!
	const { code, link } = await latestLoginEmail(email)
	const verified = await browser.post(next, { code })
	return { verified, link, next }
}

/** What the app answers at `path` for this browser: the email shown in the settings page, or null when logged out. */
async function whoAmI(browser: WebClient) {
	const response = await browser.get('/settings')
	if (response.status !== 200) return null
	return /[\w.+-]+@agence-exemple\.fr/.exec(await response.text())?.[0] ?? null
}

/** How React escapes text and attribute values. */
function escaped(text: string) {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;')
}

describe('session fixation', () => {
	test('a session cookie planted before login is never adopted: login issues a new id', async () => {
		// 1. A value the attacker made up (not signed): ignored, and replaced at login.
		const victim = new WebClient(server.url, new CookieJar())
		victim.jar.set('__session', 'attacker-chosen-session-id-0123456789abcdef')
		const email = newEmail('victime')
		const { verified } = await logIn(victim, email)
		expect(verified.status).toBe(302)
		const issued = victim.jar.get('__session')!
		expect(issued).not.toContain('attacker-chosen')
		expect(await whoAmI(victim)).toBe(email)
		const attacker = new WebClient(server.url, new CookieJar())
		attacker.jar.set('__session', 'attacker-chosen-session-id-0123456789abcdef')
		expect(await whoAmI(attacker)).toBeNull()

		// 2. The attacker's own VALID session, planted in the victim's browser: logging in there
		// gives a new id; the attacker's cookie stays the attacker's and never becomes the victim's.
		const mallory = await loggedInUser({ email: newEmail('mallory') })
		const planted = mallory.jar.get('__session')!
		const browser = new WebClient(server.url, new CookieJar())
		browser.jar.set('__session', planted)
		const target = newEmail('cible')
		await logIn(browser, target)
		expect(browser.jar.get('__session')).not.toBe(planted)
		expect(await whoAmI(browser)).toBe(target)
		const malloryBrowser = new WebClient(server.url, new CookieJar())
		malloryBrowser.jar.set('__session', planted)
		expect(await whoAmI(malloryBrowser)).toBe(mallory.email)
	})
})

describe('CSRF', () => {
	test('a mutation without the token, with another browser’s token or from another site is refused (403) and changes nothing', async () => {
		const owner = await loggedInUser({ email: newEmail('proprietaire') })
		const { id: projectId } = await privileged().project.create({ data: { userId: owner.id, name: 'Bastide' }, select: { id: true } })
		const browser = new WebClient(server.url, owner.jar)
		const other = new WebClient(server.url)
		const otherToken = await other.csrf()
		const ownToken = await browser.csrf()
		expect(otherToken).not.toBe(ownToken)
		const before = await snapshotOf(owner.id)
		const attempts: [string, Promise<Response>][] = [
			['no token', browser.post(`/projects/${projectId}`, { intent: 'update', name: 'Piratée' }, { csrf: null })],
			['another browser’s token', browser.post(`/projects/${projectId}`, { intent: 'update', name: 'Piratée' }, { csrf: otherToken })],
			['a forged token', browser.post(`/projects/${projectId}`, { intent: 'delete', confirm: 'yes' }, { csrf: 'x'.repeat(43) })],
			['another site', browser.post(`/projects/${projectId}`, { intent: 'archive' }, { headers: { Origin: 'https://evil.example' } })],
			['log out everywhere, no token', browser.post('/settings', { intent: 'logout-all' }, { csrf: null })],
			[
				'an upload without the token',
				browser.request(`/projects/${projectId}/upload`, {
					method: 'POST',
					body: (() => {
						const form = new FormData()
						form.append('photo', new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: 'image/jpeg' }), 'x.jpg')
						return form
					})(),
				}),
			],
		]
		for (const [label, attempt] of attempts) {
			const response = await attempt
			expect({ label, status: response.status }).toEqual({ label, status: 403 })
			expect(await response.text()).toMatch(/Le formulaire a expiré ou ne vient pas de Renzo|Cette requête vient d’un autre site/)
		}
		expect(await snapshotOf(owner.id)).toEqual(before)
		// The same change with the browser's own token goes through: the refusals above were the token's doing.
		expect((await browser.post(`/projects/${projectId}`, { intent: 'update', name: 'Bastide rénovée' })).status).toBe(302)
		expect((await privileged().project.findUniqueOrThrow({ where: { id: projectId } })).name).toBe('Bastide rénovée')
	})
})

describe('open redirect through the login', () => {
	const hostile = [
		'//evil.example',
		'https://evil.example',
		'http://evil.example/projects',
		'/\\evil.example',
		'\\\\evil.example',
		'/\\/evil.example',
		'///evil.example',
		'javascript:alert(document.cookie)',
		'JaVaScRiPt:alert(1)',
		'data:text/html,<script>alert(1)</script>',
		'%2F%2Fevil.example',
		'/%2F%2Fevil.example',
		'/%5Cevil.example',
		'%5C%5Cevil.example',
		'/\t/evil.example',
		'/\n/evil.example',
		' //evil.example',
		'https:evil.example',
		'/projects@evil.example',
		'//evil.example@renzo',
	]

	/** True when a browser following `location` from our site stays on it. */
	function staysHome(location: string | null) {
		if (location === null) return true
		if (/[\u0000-\u001f\\]/.test(location)) return false
		const target = new URL(location, server.url)
		return target.origin === server.url && !location.startsWith('//')
	}

	test('a logged-in visitor sent to /login?redirectTo=… (and /login/2fa) stays on our origin', async () => {
		const user = await loggedInUser({ email: newEmail('redirige') })
		const browser = new WebClient(server.url, user.jar)
		for (const target of hostile) {
			for (const page of ['/login', '/login/2fa']) {
				const response = await browser.get(`${page}?${new URLSearchParams({ redirectTo: target })}`)
				const location = response.headers.get('location')
				expect({ page, target, status: response.status }).toEqual({ page, target, status: 302 })
				expect({ page, target, location, safe: staysHome(location) }).toEqual({ page, target, location, safe: true })
			}
		}
	})

	test('the whole login (form, then code) with a hostile redirectTo lands on our origin', async () => {
		for (const target of ['//evil.example', '/\\evil.example', 'https://evil.example/x', '/%5C%5Cevil.example']) {
			const browser = new WebClient(server.url)
			const email = newEmail('detour')
			const asked = await browser.post('/login', { email, redirectTo: target })
			expect(staysHome(asked.headers.get('location'))).toBe(true)
			const { code } = await latestLoginEmail(email)
			const verified = await browser.post(asked.headers.get('location')!, { code })
			expect(verified.status).toBe(302)
			expect({ target, location: verified.headers.get('location'), safe: staysHome(verified.headers.get('location')) }).toMatchObject({
				target,
				safe: true,
			})
		}
	})
})

describe('oversized bodies', () => {
	test('a form or JSON body past the limit is refused with 413, and nothing is stored', async () => {
		const user = await loggedInUser({ email: newEmail('volumineux') })
		const browser = new WebClient(server.url, user.jar)
		const before = await snapshotOf(user.id)
		const form = await browser.post('/projects', { intent: 'create', name: 'Énorme', address: 'a'.repeat(200 * 1024) })
		expect(form.status).toBe(413)
		expect(await form.text()).toContain('La requête est trop volumineuse')
		const json = await browser.request('/projects', {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': await browser.csrf() },
			body: JSON.stringify({ intent: 'create', name: 'Énorme', address: 'a'.repeat(200 * 1024) }),
		})
		expect(json.status).toBe(413)
		// The API (a bearer key, no CSRF token) has its own cap.
		const { secret } = await createApiKey(user.id, 'Volume')
		const api = await browser.request('/api/v1/projects', {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${secret}` },
			body: JSON.stringify({ name: 'Énorme', address: 'a'.repeat(2 * 1024 * 1024) }),
		})
		expect(api.status).toBe(413)
		// Refused before its body was read, the connection must not be left with the unread bytes in
		// it: the next request on the same keep-alive connection (a browser's, or a proxy's that
		// pools connections to the app) would hang.
		const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
		const oversized = JSON.stringify({ name: 'Énorme', address: 'a'.repeat(2 * 1024 * 1024) })
		expect(
			await rawRequest(
				agent,
				'POST',
				'/api/v1/projects',
				{ 'Content-Type': 'application/json', Authorization: `Bearer ${secret}` },
				oversized,
			),
		).toBe(413)
		expect(await rawRequest(agent, 'GET', '/healthz')).toBe(200)
		agent.destroy()
		const after = await snapshotOf(user.id)
		// Only the key made above is new.
		expect({ ...after, api_keys: [], audit_events: [] }).toEqual({ ...before, api_keys: [], audit_events: [] })
		expect(await privileged().project.count({ where: { userId: user.id } })).toBe(0)
	})
})

/** One request through `agent` (its sockets are reused); resolves with the status, or fails after 10 s. */
function rawRequest(agent: http.Agent, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const request = http.request(new URL(path, server.url), { method, agent, headers, timeout: 10_000 }, (response) => {
			response.resume()
			response.on('end', () => resolve(response.statusCode ?? 0))
		})
		request.on('timeout', () => request.destroy(new Error(`${method} ${path}: no answer within 10 s`)))
		request.on('error', reject)
		request.end(body)
	})
}

describe('SQL-looking and HTML-looking input', () => {
	const payloads = [`'; DROP TABLE users; --`, `" OR 1=1 -- $1 $2 \\ \\' \\\\ 🏡`, `<script>alert(1)</script> & « Villa » %' --`]

	test('every text field stores it verbatim, shows it escaped, and never fails', { timeout: 120_000 }, async () => {
		const user = await loggedInUser({ email: newEmail('guillemets') })
		const browser = new WebClient(server.url, user.jar)
		const { secret } = await createApiKey(user.id, 'Client')
		for (const [index, payload] of payloads.entries()) {
			// Project: name, address, reference (created through the form, renamed through it too).
			const created = await browser.post('/projects', { name: payload, address: payload, reference: payload })
			expect(created.status, await created.text()).toBe(302)
			const projectId = /\/projects\/([0-9a-f-]{36})/.exec(created.headers.get('location') ?? '')![1]!
			const project = await privileged().project.findUniqueOrThrow({ where: { id: projectId } })
			expect([project.name, project.address, project.reference]).toEqual([payload, payload, payload])
			const renamed = `${payload} (bis)`
			expect(
				(await browser.post(`/projects/${projectId}`, { intent: 'update', name: renamed, address: payload, reference: payload })).status,
			).toBe(302)
			expect((await privileged().project.findUniqueOrThrow({ where: { id: projectId } })).name).toBe(renamed)
			await expectEscaped(browser, `/projects/${projectId}`, renamed)
			await expectEscaped(browser, '/projects', renamed)

			// Custom style: name and prompt.
			const styleName = `${payload} ${index}`
			const style = await browser.post('/styles', { intent: 'create', name: styleName, prompt: payload })
			expect(style.status, await style.text()).toBe(302)
			const stored = await privileged().customStyle.findFirstOrThrow({ where: { userId: user.id, name: styleName } })
			expect(stored.prompt).toBe(payload)
			await expectEscaped(browser, '/styles', styleName)
			await expectEscaped(browser, `/styles?style=${stored.id}`, payload)

			// API key name, webhook endpoint description.
			const key = await browser.post('/settings/api-keys', { intent: 'create', name: payload })
			expect(key.status, await key.text()).toBeLessThan(400)
			expect(await privileged().apiKey.count({ where: { userId: user.id, name: payload } })).toBe(1)
			await expectEscaped(browser, '/settings/api-keys', payload)
			const endpoint = await browser.post('/settings/webhooks', {
				intent: 'create',
				url: `https://hooks.example/renzo-${index}`,
				description: payload,
				events: 'transformation.succeeded',
			})
			expect(endpoint.status, await endpoint.text()).toBeLessThan(400)
			expect(await privileged().webhookEndpoint.count({ where: { userId: user.id, description: payload } })).toBe(1)
			await expectEscaped(browser, '/settings/webhooks', payload)

			// The API: the same text in JSON, back verbatim.
			const viaApi = await browser.request('/api/v1/projects', {
				method: 'POST',
				headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${secret}` },
				body: JSON.stringify({ name: payload, address: payload, reference: payload }),
			})
			expect(viaApi.status, await viaApi.clone().text()).toBe(201)
			const body = (await viaApi.json()) as { name?: string; address?: string; reference?: string; project?: { name: string } }
			expect(JSON.stringify(body)).toContain(JSON.stringify(payload).slice(1, -1))
		}
		// Nothing was dropped: the tables are all there and still answer.
		expect(await privileged().user.count()).toBeGreaterThan(0)
		expect(await privileged().project.count({ where: { userId: user.id } })).toBe(payloads.length * 2)
	})

	test('a NUL character (which Postgres cannot store) is refused in French, never a 500, and nothing is stored', async () => {
		const user = await loggedInUser({ email: newEmail('nul') })
		const browser = new WebClient(server.url, user.jar)
		const before = await snapshotOf(user.id)
		for (const [path, fields] of [
			['/projects', { name: 'Villa\u0000' }],
			['/projects', { name: 'Villa', address: '1 rue\u0000' }],
			['/styles', { intent: 'create', name: 'Style\u0000', prompt: 'lumineux' }],
			['/settings/api-keys', { intent: 'create', name: 'Clé\u0000' }],
			[
				'/settings/webhooks',
				{ intent: 'create', url: 'https://hooks.example/nul', description: 'Logiciel\u0000', events: 'transformation.succeeded' },
			],
		] as const) {
			const response = await browser.post(path, fields)
			const page = await response.text()
			expect({ path, fields, status: response.status }).toEqual({ path, fields, status: 400 })
			expect(page).toMatch(/caractère (invisible )?non autorisé|caractères? invisibles?/)
		}
		const { secret } = await createApiKey(user.id, 'Client')
		const viaApi = await browser.request('/api/v1/projects', {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${secret}` },
			body: JSON.stringify({ name: 'Villa\u0000' }),
		})
		expect(viaApi.status).toBe(400)
		expect(await viaApi.text()).toContain('caractère invisible non autorisé')
		const after = await snapshotOf(user.id)
		expect({ ...after, api_keys: [], audit_events: [] }).toEqual({ ...before, api_keys: [], audit_events: [] })
	})

	async function expectEscaped(browser: WebClient, path: string, text: string) {
		const response = await browser.get(path)
		const page = await response.text()
		expect({ path, status: response.status }).toEqual({ path, status: 200 })
		expect(page, path).toContain(escaped(text))
		expect(page, path).not.toContain('<script>alert(1)</script>')
	}
})

describe('path traversal', () => {
	test('storage keys: ../, %2e%2e, absolute paths, backslashes and NUL in a file URL are a 404', async () => {
		const user = await loggedInUser({ email: newEmail('chemins') })
		for (const path of [
			'/resources/files/../../etc/passwd',
			'/resources/files/..%2F..%2Fetc%2Fpasswd',
			'/resources/files/%2e%2e/%2e%2e/etc/passwd',
			'/resources/files//etc/passwd',
			'/resources/files/%2Fetc%2Fpasswd',
			`/resources/files/${user.id}/originals/..%5C..%5Cx.jpg`,
			`/resources/files/${user.id}/originals/x.jpg%00.png`,
			`/resources/files/${user.id}/originals/x.jpg?exp=9999999999&sig=${'0'.repeat(64)}`,
		]) {
			const response = await new WebClient(server.url, user.jar).get(path)
			expect({ path, status: response.status }).toEqual({ path, status: 404 })
		}
	})

	test('download names: a project named like a path or a header gives a harmless Content-Disposition', async () => {
		const user = await loggedInUser({ email: newEmail('archive') })
		const browser = new WebClient(server.url, user.jar)
		for (const name of [
			'../../etc/passwd',
			'..\\..\\windows\\win.ini',
			'/etc/shadow',
			'Villa"; filename="evil.exe',
			'Villa\u0001\u001f\r\n.exe',
			'%2e%2e%2fvilla',
		]) {
			const { id } = await privileged().project.create({ data: { userId: user.id, name }, select: { id: true } })
			const response = await browser.get(`/projects/${id}/zip`, { method: 'HEAD' })
			expect(response.status).toBe(200)
			const disposition = response.headers.get('content-disposition')!
			const plain = /filename="([^"]*)"/.exec(disposition)?.[1] ?? ''
			const encoded = decodeURIComponent(/filename\*=UTF-8''(\S+)/.exec(disposition)?.[1] ?? '')
			expect({ name, disposition }).toEqual({
				name,
				disposition: expect.stringMatching(/^attachment; filename="[^"]*"; filename\*=UTF-8''\S+$/),
			})
			for (const filename of [plain, encoded]) {
				expect(filename, disposition).not.toMatch(/[/\\\u0000-\u001f]/)
				expect(filename.endsWith('.zip'), disposition).toBe(true)
			}
		}
	})
})

describe('login codes and links', () => {
	test('a replayed magic link is refused, in the same browser and in another', async () => {
		const browser = new WebClient(server.url)
		const email = newEmail('lien')
		const asked = await browser.post('/login', { email })
		expect(asked.status).toBe(302)
		const { link } = await latestLoginEmail(email)
		const path = `${link.pathname}${link.search}`
		const first = await browser.get(path)
		expect(first.status).toBe(302)
		const sessions = await privileged().session.count({ where: { user: { email } } })
		for (const replay of [browser, new WebClient(server.url)]) {
			const again = await replay.get(path)
			expect(again.status).toBe(400)
			expect(await again.text()).toMatch(/expiré|déjà été utilisé/)
		}
		expect(await privileged().session.count({ where: { user: { email } } })).toBe(sessions)
	})

	test('guessing the 6-digit code locks the login before the 10th try, even for the right code', async () => {
		const browser = new WebClient(server.url)
		const email = newEmail('devine')
		const asked = await browser.post('/login', { email })
		const verify = asked.headers.get('location')!
		const { code } = await latestLoginEmail(email)
		let tries = 0
		let status = 0
		for (; tries < 9 && status !== 429; tries++) {
			const guess = String((Number(code) + 1 + tries) % 1_000_000).padStart(6, '0')
			status = (await browser.post(verify, { code: guess })).status
		}
		expect(status).toBe(429)
		expect(tries).toBeLessThan(10)
		const right = await browser.post(verify, { code })
		expect(right.status).toBe(429)
		expect(browser.jar.get('__session')).toBeUndefined()
	})
})
