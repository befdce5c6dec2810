import crypto from 'node:crypto'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { startReplicateFake, type ReplicateFake } from '#tests/fakes/replicate.ts'
import { apiClient, type ApiError } from '#tests/utils/api-client.ts'
import { startApiApp } from '#tests/utils/api-app.ts'
import { call, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { readyPhoto, roomJpeg } from '#tests/utils/photos.ts'
import { createEndpoint } from '#app/modules/webhooks-out/endpoints.server.ts'
import { documentedVerifier, startWebhookReceiver, type WebhookReceiver } from '#tests/fakes/webhook-receiver.ts'
import { until } from '#tests/utils/until.ts'
import { maintenancePurge } from '#worker/jobs/maintenance-purge.ts'
import { startWorker } from '#worker/start.ts'
import { action as apiKeysAction } from './settings+/api-keys.tsx'

// The public API over real HTTP (server.ts's HTTP layer + Remix's handler + the real routes),
// driven like curl: a Bearer key and JSON or multipart bodies, nothing else.

let app: Awaited<ReturnType<typeof startApiApp>>
let fake: ReplicateFake
let receiver: WebhookReceiver

beforeAll(async () => {
	fake = await startReplicateFake()
	// The agency's webhook receiver, on 127.0.0.1 (allowed by test configuration only).
	receiver = await startWebhookReceiver()
	app = await startApiApp()
	Object.assign(process.env, {
		REPLICATE_API_TOKEN: fake.token,
		REPLICATE_BASE_URL: fake.baseUrl,
		REPLICATE_WEBHOOK_SECRET: fake.webhookSecret,
		WEBHOOKS_ALLOW_LOOPBACK: 'true',
	})
	reloadEnv()
})

afterAll(async () => {
	await app?.close()
	await fake?.close()
	await receiver?.close()
})

/** An agent with an API key made through the settings page's action, as a person would. */
async function agent(options: { credits?: number; locale?: 'fr' | 'en' } = {}) {
	const user = await loggedInUser()
	if (options.locale) await privileged().user.update({ where: { id: user.id }, data: { locale: options.locale } })
	if (options.credits)
		await grant(privileged(), { userId: user.id, credits: options.credits, reason: 'admin_adjustment', idempotencyKey: `test:${user.id}` })
	const created = await call(() =>
		apiKeysAction({
			request: makeRequest('/settings/api-keys', { jar: user.jar, form: { intent: 'create', name: 'Logiciel de l’agence' } }),
			params: {},
			context: { nonce: '', csrfToken: '' },
		}),
	)
	const key = (created.data as { created: { secret: string } }).created.secret
	return { user, key, api: apiClient(app.url, key) }
}

const balanceOf = async (userId: string) => (await privileged().user.findUniqueOrThrow({ where: { id: userId } })).creditBalance
const reservations = (userId: string) => privileged().creditLedger.count({ where: { userId, reason: 'reservation' } })

type Project = { id: string; name: string; status: string; photo_count: number }
type Transformation = { id: string; status: string; result: { urls: { full: string } } | null }

describe('the whole path, curl-like: project → upload → processed → order → signed webhook → download', () => {
	test('a real JPEG becomes a staged photo, announced by a signed webhook, downloaded from its signed URL; one reservation, one capture', async () => {
		const worker = await startWorker({ queues: ['photo-process', 'transformation-run', 'transformation-complete', 'webhook-deliver'] })
		try {
			const { user, api } = await agent({ credits: 10 })
			const endpoint = await createEndpoint(user.id, {
				url: receiver.url,
				description: 'Logiciel de l’agence',
				events: ['transformation.succeeded'],
			})
			const project = await api.post<Project>('/api/v1/projects', { name: 'T3 Lyon 6e – Foch', address: '12 avenue Foch, 69006 Lyon' })
			expect(project.status).toBe(201)
			expect(project.body).toMatchObject({ name: 'T3 Lyon 6e – Foch', status: 'active', photo_count: 0 })

			const jpeg = await roomJpeg(1600, 1200)
			const uploaded = await api.upload<{ files: { ok: boolean; photo_id: string }[] }>(`/api/v1/projects/${project.body.id}/photos`, [
				{ name: 'séjour.jpg', data: jpeg },
			])
			expect(uploaded.status).toBe(201)
			expect(uploaded.body.files).toMatchObject([{ ok: true }])
			const photoId = uploaded.body.files[0]!.photo_id

			// The photo-process job (real worker code, in this process) makes the variants.
			const photo = await until(
				'photo processed',
				() =>
					api.get<{ status: string; width: number; urls: Record<string, string | null> }>(
						`/api/v1/projects/${project.body.id}/photos/${photoId}`,
					),
				(answer) => answer.body.status === 'ready',
				{ timeoutMs: 20_000 },
			)
			expect(photo.body.width).toBe(1600)
			const original = await fetch(photo.body.urls.original!)
			expect(original.status).toBe(200)
			expect(Buffer.from(await original.arrayBuffer()).equals(jpeg)).toBe(true)
			expect((await fetch(photo.body.urls.thumbnail!)).headers.get('content-type')).toBe('image/webp')

			const balanceBefore = await balanceOf(user.id)
			const ordered = await api.post<{ batch_id: string; credits_reserved: number; transformations: Transformation[] }>(
				`/api/v1/projects/${project.body.id}/transformations`,
				{ photo_ids: [photoId], kind: 'virtual_staging', style: 'scandinavian', room_type: 'bedroom' },
				{ 'Idempotency-Key': crypto.randomUUID() },
			)
			expect(ordered.status).toBe(201)
			expect(ordered.body.credits_reserved).toBe(2)
			const id = ordered.body.transformations[0]!.id

			const done = await until(
				'transformation finished',
				() => api.get<Transformation>(`/api/v1/transformations/${id}`),
				(answer) => ['succeeded', 'failed', 'canceled'].includes(answer.body.status),
				{ timeoutMs: 45_000 },
			)
			expect(done.body.status).toBe('succeeded')

			// The receiver hears of it: signed as the receiver guide says to check, naming the transformation.
			const delivered = await until(
				'the signed webhook',
				async () => receiver.received.filter((request) => request.rawBody.toString('utf8').includes(id)),
				(requests) => requests.length > 0,
				{ timeoutMs: 20_000 },
			)
			const verify = await documentedVerifier()
			expect(verify(delivered[0]!.rawBody, delivered[0]!.headers, endpoint.secret)).toBe(true)
			expect(verify(delivered[0]!.rawBody, delivered[0]!.headers, `${endpoint.secret}x`)).toBe(false)
			const event = JSON.parse(delivered[0]!.rawBody.toString('utf8')) as { id: string; type: string; data: Record<string, unknown> }
			expect(delivered[0]!.headers['renzo-webhook-id']).toBe(event.id)
			expect(event).toMatchObject({
				type: 'transformation.succeeded',
				data: { transformation_id: id, status: 'succeeded', credits_charged: 2 },
			})
			// The event names the API path to fetch; the client follows it with its key.
			expect(String(event.data.url)).toMatch(new RegExp(`/api/v1/transformations/${id}$`))

			const result = await fetch(done.body.result!.urls.full)
			expect(result.status).toBe(200)
			expect(result.headers.get('content-disposition')).toMatch(/attachment/)
			const image = await sharp(Buffer.from(await result.arrayBuffer())).metadata()
			expect(image.width).toBeGreaterThan(0)

			expect(await balanceOf(user.id)).toBe(balanceBefore - 2)
			const ledger = await api.get<{ data: { reason: string; delta: number; reference: string }[] }>('/api/v1/credits/ledger?limit=2')
			expect(ledger.body.data.map((m) => [m.reason, m.delta, m.reference])).toEqual([
				['capture', 0, `transformation:${id}`],
				['reservation', -2, `transformation:${id}`],
			])
			expect((await api.get<{ balance: number }>('/api/v1/credits')).body.balance).toBe(balanceBefore - 2)
			const listed = await api.get<{ data: Transformation[] }>(`/api/v1/projects/${project.body.id}/transformations`)
			expect(listed.body.data.map((t) => [t.id, t.status])).toEqual([[id, 'succeeded']])
		} finally {
			await worker.stop(5_000)
		}
	}, 90_000)
})

describe('keys act for their owner only', () => {
	test("B's key on A's resources: 404 on every endpoint, and nothing of A's changes", async () => {
		const a = await agent({ credits: 10 })
		const b = await agent({ credits: 10 })
		const project = (await a.api.post<Project>('/api/v1/projects', { name: 'Maison A' })).body
		const photoId = await readyPhoto(a.user.id, project.id)
		const ordered = await a.api.post<{ transformations: Transformation[] }>(`/api/v1/projects/${project.id}/transformations`, {
			photo_ids: [photoId],
			kind: 'day_to_dusk',
		})
		const transformationId = ordered.body.transformations[0]!.id
		const jpeg = await roomJpeg(320, 240)

		const attempts = [
			b.api.get(`/api/v1/projects/${project.id}`),
			b.api.post(`/api/v1/projects/${project.id}/archive`),
			b.api.post(`/api/v1/projects/${project.id}/unarchive`),
			b.api.get(`/api/v1/projects/${project.id}/photos`),
			b.api.upload(`/api/v1/projects/${project.id}/photos`, [{ name: 'intrus.jpg', data: jpeg }]),
			b.api.get(`/api/v1/projects/${project.id}/photos/${photoId}`),
			b.api.get(`/api/v1/projects/${project.id}/transformations`),
			b.api.post(`/api/v1/projects/${project.id}/transformations`, { photo_ids: [photoId], kind: 'day_to_dusk' }),
			b.api.get(`/api/v1/transformations/${transformationId}`),
			b.api.post(`/api/v1/transformations/${transformationId}/cancel`),
		]
		for (const answer of await Promise.all(attempts)) {
			expect(answer.status).toBe(404)
			expect((answer.body as unknown as ApiError).error).toMatchObject({ code: 'not_found', message: 'Ressource introuvable.' })
		}
		// B's own lists hold nothing of A's.
		expect((await b.api.get<{ data: Project[] }>('/api/v1/projects')).body.data).toEqual([])
		const bLedger = await b.api.get<{ data: { reference: string | null }[] }>('/api/v1/credits/ledger')
		expect(bLedger.body.data.some((m) => m.reference?.includes(transformationId))).toBe(false)
		// A's project, photo and order are as they were.
		const aProject = await a.api.get<Project>(`/api/v1/projects/${project.id}`)
		expect(aProject.body).toMatchObject({ status: 'active', photo_count: 1 })
		expect((await a.api.get<Transformation>(`/api/v1/transformations/${transformationId}`)).body.status).toBe('queued')
		expect(await privileged().photo.count({ where: { projectId: project.id } })).toBe(1)
		expect(await privileged().transformation.count({ where: { userId: b.user.id } })).toBe(0)
	})

	test('a revoked key, an unknown key, a malformed header or a session cookie alone → 401 with WWW-Authenticate', async () => {
		const a = await agent()
		expect((await a.api.get('/api/v1/projects')).status).toBe(200)
		const keys = await privileged().apiKey.findMany({ where: { userId: a.user.id }, select: { id: true, lastUsedAt: true } })
		expect(keys[0]!.lastUsedAt).not.toBeNull()
		const revoked = await call(() =>
			apiKeysAction({
				request: makeRequest('/settings/api-keys', { jar: a.user.jar, form: { intent: 'revoke', keyId: keys[0]!.id } }),
				params: {},
				context: { nonce: '', csrfToken: '' },
			}),
		)
		expect(revoked.status).toBe(302)

		const answers = [
			await a.api.get('/api/v1/projects'),
			await a.api.post('/api/v1/projects', { name: 'Après révocation' }),
			await apiClient(app.url, `rz_live_${'0'.repeat(48)}`).get('/api/v1/credits'),
			await apiClient(app.url, null).get('/api/v1/projects', { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }),
			// The browser's session cookie (and its CSRF cookie) do not open the API.
			await apiClient(app.url, null).get('/api/v1/projects', { Cookie: a.user.jar.header() }),
			await apiClient(app.url, null).post('/api/v1/projects', { name: 'Par cookie' }, { Cookie: a.user.jar.header() }),
		]
		for (const answer of answers) {
			expect(answer.status).toBe(401)
			expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/)
			expect((answer.body as unknown as ApiError).error.code).toBe('unauthorized')
		}
		expect(await privileged().project.count({ where: { userId: a.user.id } })).toBe(0)
	})

	test('a key whose account is being deleted → 403', async () => {
		const { user, api } = await agent()
		await privileged().user.update({ where: { id: user.id }, data: { deletionRequestedAt: new Date() } })
		const answer = await api.post<ApiError>('/api/v1/projects', { name: 'Avant départ' })
		expect(answer.status).toBe(403)
		expect(answer.body.error).toEqual({
			code: 'account_deleting',
			message: 'Ce compte est en cours de suppression : l’API n’est plus utilisable.',
		})
		expect(await privileged().project.count({ where: { userId: user.id } })).toBe(0)
	})
})

describe('idempotency', () => {
	test('10 concurrent identical orders with one key → one order, one reservation; a retry replays; another body → 422', async () => {
		// 5 welcome credits + 3: two HD stagings (4 credits each), not three.
		const { user, api } = await agent({ credits: 3 })
		const project = (await api.post<Project>('/api/v1/projects', { name: 'Villa Arcachon' })).body
		const photoId = await readyPhoto(user.id, project.id)
		const key = crypto.randomUUID()
		const body = { photo_ids: [photoId], kind: 'virtual_staging', quality: 'hd' }
		const path = `/api/v1/projects/${project.id}/transformations`

		const answers = await Promise.all(Array.from({ length: 10 }, () => api.post(path, body, { 'Idempotency-Key': key })))
		const first = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null)
		expect(first).toHaveLength(1)
		for (const answer of answers) {
			if (answer === first[0]) continue
			// Still running → 409; already answered → the same answer, marked as replayed.
			if (answer.status === 409) expect((answer.body as unknown as ApiError).error.code).toBe('idempotency_in_progress')
			else expect([answer.status, answer.headers.get('idempotent-replayed'), answer.body]).toEqual([201, 'true', first[0]!.body])
		}
		expect(await reservations(user.id)).toBe(1)
		expect(await privileged().transformation.count({ where: { userId: user.id } })).toBe(1)

		const retry = await api.post(path, body, { 'Idempotency-Key': key })
		expect(retry.status).toBe(201)
		expect(retry.headers.get('idempotent-replayed')).toBe('true')
		expect(retry.body).toEqual(first[0]!.body)

		const changed = await api.post<ApiError>(path, { ...body, quality: 'standard' }, { 'Idempotency-Key': key })
		expect(changed.status).toBe(422)
		expect(changed.body.error.code).toBe('idempotency_mismatch')
		const elsewhere = await api.post<ApiError>('/api/v1/projects', { name: 'x' }, { 'Idempotency-Key': key })
		expect(elsewhere.status).toBe(422)
		expect(await reservations(user.id)).toBe(1)

		// A new key is a new order; a refusal is an answer too, replayed rather than evaluated again.
		expect((await api.post(path, body, { 'Idempotency-Key': crypto.randomUUID() })).status).toBe(201)
		expect(await reservations(user.id)).toBe(2)
		const brokeKey = crypto.randomUUID()
		const broke = await api.post<ApiError>(path, body, { 'Idempotency-Key': brokeKey })
		expect(broke.status).toBe(422)
		expect(broke.body.error).toMatchObject({ code: 'insufficient_credits' })
		expect(broke.body.error.message).toMatch(/^Solde insuffisant : il faut 4 crédits/)
		await grant(privileged(), { userId: user.id, credits: 4, reason: 'admin_adjustment', idempotencyKey: `test-more:${user.id}` })
		const replayedRefusal = await api.post<ApiError>(path, body, { 'Idempotency-Key': brokeKey })
		expect([replayedRefusal.status, replayedRefusal.headers.get('idempotent-replayed')]).toEqual([422, 'true'])
		expect(await reservations(user.id)).toBe(2)

		const invalid = await api.post<ApiError>(path, body, { 'Idempotency-Key': '' })
		expect(invalid.status).toBe(400)
		expect(invalid.body.error.code).toBe('invalid_idempotency_key')
		// Records expire after 24 h: the maintenance purge deletes them (and only them).
		expect(await privileged().idempotencyKey.count({ where: { userId: user.id } })).toBe(3)
		await privileged().idempotencyKey.updateMany({ where: { userId: user.id, key }, data: { expiresAt: new Date(Date.now() - 1000) } })
		await maintenancePurge()
		expect(await privileged().idempotencyKey.count({ where: { userId: user.id } })).toBe(2)
	})

	test('an upload retried with the same files replays (a new multipart boundary each time); other files → 422', async () => {
		const { user, api } = await agent()
		const project = (await api.post<Project>('/api/v1/projects', { name: 'Studio Nantes' })).body
		const jpeg = await roomJpeg(640, 480)
		const key = crypto.randomUUID()
		const path = `/api/v1/projects/${project.id}/photos`
		const first = await api.upload(path, [{ name: 'cuisine.jpg', data: jpeg }], { 'Idempotency-Key': key })
		expect(first.status).toBe(201)
		const again = await api.upload(path, [{ name: 'cuisine.jpg', data: jpeg }], { 'Idempotency-Key': key })
		expect(again.status).toBe(201)
		expect(again.headers.get('idempotent-replayed')).toBe('true')
		expect(again.body).toEqual(first.body)
		expect(await privileged().photo.count({ where: { userId: user.id } })).toBe(1)
		const other = await api.upload<ApiError>(path, [{ name: 'cuisine.jpg', data: await roomJpeg(600, 400) }], { 'Idempotency-Key': key })
		expect(other.status).toBe(422)
		expect(other.body.error.code).toBe('idempotency_mismatch')
		expect(await privileged().photo.count({ where: { userId: user.id } })).toBe(1)
	})
})

describe('errors, limits and pages', () => {
	test('validation: 400 with a message in the owner’s language naming each field; bad JSON; unknown route and method', async () => {
		const fr = await agent()
		const missing = await fr.api.post<ApiError>('/api/v1/projects', { address: 'x'.repeat(301), color: 'blue' })
		expect(missing.status).toBe(400)
		expect(missing.body.error.code).toBe('invalid_request')
		expect(missing.body.error.message).toBe(
			'Requête invalide : « name » est obligatoire ; L’adresse est limitée à 300 caractères ; « color » n’est pas un champ accepté.',
		)
		expect(missing.body.error.details!.map((d) => d.field)).toEqual(['name', 'address', 'color'])
		const empty = await fr.api.post<ApiError>('/api/v1/projects', { name: '   ' })
		expect(empty.body.error.message).toBe('Requête invalide : Donnez un nom au projet.')
		const badKind = await fr.api.post<ApiError>(`/api/v1/projects/${crypto.randomUUID()}/transformations`, {
			photo_ids: ['pas-un-uuid'],
			kind: 'teleportation',
		})
		expect(badKind.status).toBe(400)
		expect(badKind.body.error.details!.map((d) => d.field)).toEqual(['photo_ids.0', 'kind'])
		expect(badKind.body.error.details![1]!.message).toMatch(/^« kind » doit valoir l’une de ces valeurs : virtual_staging, declutter/)

		const en = await agent({ locale: 'en' })
		const english = await en.api.post<ApiError>('/api/v1/projects', {})
		expect(english.body.error.message).toBe('Invalid request: “name” is required.')

		const notJson = await fr.api.raw<ApiError>('POST', '/api/v1/projects', {
			body: '{"name": ',
			headers: { 'Content-Type': 'application/json' },
		})
		expect([notJson.status, notJson.body.error.code]).toEqual([400, 'invalid_json'])
		const limit = await fr.api.get<ApiError>('/api/v1/projects?limit=101')
		expect([limit.status, limit.body.error.details![0]!.field]).toEqual([400, 'limit'])
		const cursor = await fr.api.get<ApiError>('/api/v1/projects?cursor=abc')
		expect([cursor.status, cursor.body.error.code]).toEqual([400, 'invalid_cursor'])

		const route = await fr.api.get<ApiError>('/api/v1/nothing-here')
		expect([route.status, route.body.error.code]).toEqual([404, 'route_not_found'])
		const method = await fr.api.raw<ApiError>('DELETE', '/api/v1/projects')
		expect([method.status, method.headers.get('allow'), method.body.error.code]).toEqual([405, 'GET, POST', 'method_not_allowed'])
		const notUuid = await fr.api.get<ApiError>('/api/v1/projects/123')
		expect([notUuid.status, notUuid.body.error.code]).toEqual([404, 'not_found'])
		expect(await privileged().project.count({ where: { userId: { in: [fr.user.id, en.user.id] } } })).toBe(0)
	})

	test('413: a JSON body over 64 kB, and a photo over the size limit (nothing stored)', async () => {
		const { user, api } = await agent()
		const big = await api.post<ApiError>('/api/v1/projects', { name: 'Gros', address: 'x'.repeat(70 * 1024) })
		expect(big.status).toBe(413)
		expect(big.body.error).toEqual({ code: 'payload_too_large', message: 'Le corps de la requête dépasse la limite de 64 Ko.' })

		const project = (await api.post<Project>('/api/v1/projects', { name: 'Loft' })).body
		const noise = await sharp(crypto.randomBytes(400 * 300 * 3), { raw: { width: 400, height: 300, channels: 3 } })
			.jpeg({ quality: 100 })
			.toBuffer()
		process.env.UPLOAD_MAX_BYTES = String(noise.length - 1)
		reloadEnv()
		try {
			const tooBig = await api.upload<ApiError>(`/api/v1/projects/${project.id}/photos`, [{ name: 'énorme.jpg', data: noise }])
			expect(tooBig.status).toBe(413)
			expect(tooBig.body.error.code).toBe('payload_too_large')
			expect(tooBig.body.error.details).toEqual([{ field: 'énorme.jpg', message: `« énorme.jpg » dépasse 0 Mo.` }])
			const notImage = await api.upload<ApiError>(`/api/v1/projects/${project.id}/photos`, [
				{ name: 'notes.txt', data: Buffer.from('bonjour'), type: 'text/plain' },
			])
			expect([notImage.status, notImage.body.error.code]).toEqual([422, 'upload_refused'])
			const json = await api.post<ApiError>(`/api/v1/projects/${project.id}/photos`, { photo: 'x' })
			expect([json.status, json.body.error.code]).toEqual([400, 'invalid_request'])
		} finally {
			delete process.env.UPLOAD_MAX_BYTES
			reloadEnv()
		}
		expect(await privileged().photo.count({ where: { userId: user.id } })).toBe(0)
	})

	test('rate limit per key: 429 with RateLimit-* and Retry-After once the window is used up; another key is not affected', async () => {
		process.env.API_RATE_LIMIT_PER_MINUTE = '3'
		reloadEnv()
		try {
			const a = await agent()
			const b = await agent()
			const remaining: (string | null)[] = []
			for (let i = 0; i < 3; i++) {
				const answer = await a.api.get('/api/v1/credits')
				expect(answer.status).toBe(200)
				expect(answer.headers.get('ratelimit-limit')).toBe('3')
				remaining.push(answer.headers.get('ratelimit-remaining'))
			}
			expect(remaining).toEqual(['2', '1', '0'])
			const limited = await a.api.get<ApiError>('/api/v1/credits')
			expect(limited.status).toBe(429)
			expect(limited.body.error.code).toBe('rate_limited')
			expect(limited.body.error.message).toMatch(/^Trop de requêtes avec cette clé : 3 par minute au maximum\. Réessayez dans \d+ s\.$/)
			const retryAfter = Number(limited.headers.get('retry-after'))
			expect(retryAfter).toBeGreaterThanOrEqual(1)
			expect(retryAfter).toBeLessThanOrEqual(60)
			expect(limited.headers.get('ratelimit-remaining')).toBe('0')
			expect(limited.headers.get('ratelimit-reset')).toBe(String(retryAfter))
			expect((await b.api.get('/api/v1/credits')).status).toBe(200)
		} finally {
			delete process.env.API_RATE_LIMIT_PER_MINUTE
			reloadEnv()
		}
	})

	test('the account’s hourly order budget is the web’s own; a 429 is not kept for the Idempotency-Key', async () => {
		const { user, api } = await agent({ credits: 10 })
		const project = (await api.post<Project>('/api/v1/projects', { name: 'Budget' })).body
		const photoId = await readyPhoto(user.id, project.id)
		const path = `/api/v1/projects/${project.id}/transformations`
		const body = { photo_ids: [photoId], kind: 'day_to_dusk' }
		process.env.ORDERS_PER_USER_PER_HOUR = '1'
		reloadEnv()
		try {
			expect((await api.post(path, body)).status).toBe(201)
			const key = crypto.randomUUID()
			const refused = await api.post<ApiError>(path, body, { 'Idempotency-Key': key })
			expect(refused.status).toBe(429)
			expect(refused.body.error.code).toBe('rate_limited')
			expect(refused.body.error.message).toMatch(/^Trop d’envois de photos ou de commandes pour ce compte dans l’heure/)
			expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(60)
			expect(await reservations(user.id)).toBe(1)
			process.env.ORDERS_PER_USER_PER_HOUR = '5'
			reloadEnv()
			const retried = await api.post(path, body, { 'Idempotency-Key': key })
			expect([retried.status, retried.headers.get('idempotent-replayed')]).toEqual([201, null])
			expect(await reservations(user.id)).toBe(2)
		} finally {
			delete process.env.ORDERS_PER_USER_PER_HOUR
			reloadEnv()
		}
	})

	test('cursor pagination walks every project once, newest first; archive and unarchive', async () => {
		const { api } = await agent()
		const names = ['Un', 'Deux', 'Trois', 'Quatre', 'Cinq']
		for (const name of names) expect((await api.post('/api/v1/projects', { name })).status).toBe(201)
		const seen: string[] = []
		let cursor: string | null = null
		let pages = 0
		do {
			const page: { body: { data: Project[]; next_cursor: string | null } } = await api.get(
				`/api/v1/projects?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
			)
			seen.push(...page.body.data.map((p) => p.name))
			cursor = page.body.next_cursor
			pages++
		} while (cursor)
		expect(seen).toEqual([...names].reverse())
		expect(pages).toBe(3)

		const first = (await api.get<{ data: Project[] }>('/api/v1/projects?limit=1')).body.data[0]!
		const archived = await api.post<Project>(`/api/v1/projects/${first.id}/archive`)
		expect([archived.status, archived.body.status]).toEqual([200, 'archived'])
		expect((await api.get<{ data: Project[] }>('/api/v1/projects?status=archived')).body.data.map((p) => p.id)).toEqual([first.id])
		expect((await api.get<{ data: Project[] }>('/api/v1/projects?status=active')).body.data).toHaveLength(4)
		const restored = await api.post<Project>(`/api/v1/projects/${first.id}/unarchive`, {})
		expect(restored.body.status).toBe('active')
		const extra = await api.post<ApiError>(`/api/v1/projects/${first.id}/archive`, { now: true })
		expect([extra.status, extra.body.error.code]).toEqual([400, 'invalid_request'])
	})

	test('cancel: a queued transformation is cancelled and its credits come back; cancelling again → 409', async () => {
		const { user, api } = await agent({ credits: 4 })
		const project = (await api.post<Project>('/api/v1/projects', { name: 'Duplex' })).body
		const photoId = await readyPhoto(user.id, project.id)
		const before = await balanceOf(user.id)
		const ordered = await api.post<{ transformations: Transformation[] }>(`/api/v1/projects/${project.id}/transformations`, {
			photo_ids: [photoId],
			kind: 'declutter',
		})
		const id = ordered.body.transformations[0]!.id
		expect(await balanceOf(user.id)).toBe(before - 2)
		const cancelled = await api.post<Transformation>(`/api/v1/transformations/${id}/cancel`)
		expect([cancelled.status, cancelled.body.status]).toEqual([200, 'canceled'])
		expect(await balanceOf(user.id)).toBe(before)
		const again = await api.post<ApiError>(`/api/v1/transformations/${id}/cancel`)
		expect([again.status, again.body.error.code]).toEqual([409, 'not_cancellable'])
		expect(await balanceOf(user.id)).toBe(before)
	})
})
