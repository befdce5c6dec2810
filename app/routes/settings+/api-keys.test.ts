import crypto from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { MAX_ACTIVE_KEYS } from '#app/modules/api/keys.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { call, makeRequest, type CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { action, loader } from './api-keys.tsx'

const ctx = { nonce: '', csrfToken: '' }
const post = (jar: CookieJar, form: Record<string, string>) =>
	call(() => action({ request: makeRequest('/settings/api-keys', { jar, form }), params: {}, context: ctx }))
const page = (jar: CookieJar) => call(() => loader({ request: makeRequest('/settings/api-keys', { jar }), params: {}, context: ctx }))

type Listed = { keys: { id: string; name: string; prefix: string; lastUsedAt: Date | null; revokedAt: Date | null }[] }

describe('settings: API keys', () => {
	test('a key is shown once, stored as a sha256 with a visible prefix, listed without its secret, audited', async () => {
		const user = await loggedInUser()
		const created = await post(user.jar, { intent: 'create', name: '  Logiciel Hektor  ' })
		expect(created.status).toBe(200)
		expect(created.response!.headers.get('cache-control')).toBe('no-store')
		const { name, secret } = (created.data as { created: { name: string; secret: string } }).created
		expect(name).toBe('Logiciel Hektor')
		expect(secret).toMatch(/^rz_live_[0-9a-f]{48}$/)

		const [row] = await privileged().apiKey.findMany({ where: { userId: user.id } })
		expect(row!.secretHash).toBe(crypto.createHash('sha256').update(secret).digest('hex'))
		expect(row!.prefix).toBe(secret.slice(0, 16))
		expect(JSON.stringify(row)).not.toContain(secret.slice(16))

		const listed = (await page(user.jar)).data as Listed
		expect(listed.keys).toMatchObject([{ name: 'Logiciel Hektor', prefix: secret.slice(0, 16), lastUsedAt: null, revokedAt: null }])
		expect(JSON.stringify(listed)).not.toContain(secret.slice(16))
		expect(JSON.stringify(listed)).not.toContain(row!.secretHash)

		const events = await privileged().auditEvent.findMany({ where: { userId: user.id, type: { startsWith: 'api_key.' } } })
		expect(events.map((e) => e.type)).toEqual(['api_key.created'])
		expect(events[0]!.data).toEqual({ keyId: row!.id, prefix: row!.prefix })
		expect(events[0]!.ipHash).toBeTruthy()
	})

	test('a name is required; at most MAX_ACTIVE_KEYS active keys', async () => {
		const user = await loggedInUser()
		const empty = await post(user.jar, { intent: 'create', name: '   ' })
		expect([empty.status, empty.data]).toEqual([400, { error: 'apiKeys.error.nameRequired' }])
		for (let i = 0; i < MAX_ACTIVE_KEYS; i++) expect((await post(user.jar, { intent: 'create', name: `Clé ${i}` })).status).toBe(200)
		const tooMany = await post(user.jar, { intent: 'create', name: 'Une de trop' })
		expect([tooMany.status, tooMany.data]).toEqual([409, { error: 'apiKeys.error.tooMany', vars: { max: MAX_ACTIVE_KEYS } }])
		expect(await privileged().apiKey.count({ where: { userId: user.id } })).toBe(MAX_ACTIVE_KEYS)
	})

	test('revoke: only the owner, once; the list says when; audited', async () => {
		const owner = await loggedInUser()
		const other = await loggedInUser()
		await post(owner.jar, { intent: 'create', name: 'Site vitrine' })
		const keyId = ((await page(owner.jar)).data as Listed).keys[0]!.id

		const byOther = await post(other.jar, { intent: 'revoke', keyId })
		expect(byOther.status).toBe(302)
		expect((await privileged().apiKey.findUniqueOrThrow({ where: { id: keyId } })).revokedAt).toBeNull()
		expect((await post(owner.jar, { intent: 'revoke', keyId: 'pas-un-uuid' })).status).toBe(302)

		expect((await post(owner.jar, { intent: 'revoke', keyId })).status).toBe(302)
		const listed = ((await page(owner.jar)).data as Listed).keys[0]!
		expect(listed.revokedAt).not.toBeNull()
		await post(owner.jar, { intent: 'revoke', keyId })
		const events = await privileged().auditEvent.findMany({ where: { type: 'api_key.revoked' }, select: { userId: true, data: true } })
		expect(events).toEqual([{ userId: owner.id, data: { keyId } }])
	})

	test('the page needs a session', async () => {
		const anonymous = await call(() => loader({ request: makeRequest('/settings/api-keys'), params: {}, context: ctx }))
		expect(anonymous.status).toBe(302)
		expect(anonymous.response!.headers.get('location')).toMatch(/^\/login/)
	})
})
