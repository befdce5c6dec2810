import crypto from 'node:crypto'
import { beforeAll, describe, expect, test } from 'vitest'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { cancelTransformation } from '#app/modules/transformations/run.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { action as webhookAction, loader as webhookLoader } from '#app/routes/webhooks+/replicate.ts'
import { signWebhook } from '#tests/fakes/replicate.ts'
import { call, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { readyPhoto } from '#tests/utils/photos.ts'
import { loader as eventsLoader } from './$projectId_.events.ts'
import { action as photoAction, loader as photoLoader } from './$projectId_.photos.$photoId.tsx'
import { action as projectAction } from './$projectId.tsx'

const ctx = { nonce: '', csrfToken: '' }
const WEBHOOK_SECRET = `whsec_${crypto.randomBytes(32).toString('base64')}`

beforeAll(() => {
	// A token is needed for the webhook route to know its secret; nothing here calls Replicate.
	Object.assign(process.env, {
		REPLICATE_API_TOKEN: 'r8_test_token',
		REPLICATE_BASE_URL: 'http://127.0.0.1:9/v1',
		REPLICATE_WEBHOOK_SECRET: WEBHOOK_SECRET,
	})
	reloadEnv()
})

async function owner() {
	const user = await loggedInUser()
	const project = await privileged().project.create({ data: { userId: user.id, name: 'Villa Arcachon' }, select: { id: true } })
	await grant(privileged(), { userId: user.id, credits: 20, reason: 'admin_adjustment', idempotencyKey: `test:${user.id}` })
	const photoId = await readyPhoto(user.id, project.id)
	return { user, projectId: project.id, photoId }
}

const photoPath = (projectId: string, photoId: string) => `/projects/${projectId}/photos/${photoId}`

describe('ordering from the pages (plain forms, no JavaScript)', () => {
	test('the photo page orders for its photo only, shows it in the history; another user gets 404', async () => {
		const a = await owner()
		const b = await owner()
		const path = photoPath(a.projectId, a.photoId)
		const params = { projectId: a.projectId, photoId: a.photoId }
		const balanceBefore = (await privileged().user.findUniqueOrThrow({ where: { id: a.user.id } })).creditBalance
		const ordered = await call(() =>
			photoAction({
				// A photoId smuggled in the form is ignored: the page's photo is ordered.
				request: makeRequest(path, { jar: a.user.jar, form: { intent: 'order', kind: 'day_to_dusk', quality: 'hd', photoId: b.photoId } }),
				params,
				context: ctx,
			}),
		)
		expect(ordered.status).toBe(302)
		expect(ordered.response!.headers.get('Location')).toBe(path)
		const rows = await privileged().transformation.findMany({
			where: { userId: a.user.id },
			select: { photoId: true, kind: true, quality: true, creditsCost: true },
		})
		expect(rows).toEqual([{ photoId: a.photoId, kind: 'day_to_dusk', quality: 'hd', creditsCost: 2 }])
		expect(await privileged().transformation.count({ where: { photoId: b.photoId } })).toBe(0)

		const page = await call(() => photoLoader({ request: makeRequest(path, { jar: a.user.jar }), params, context: ctx }))
		const data = page.data as {
			transformations: { kind: string; status: string }[]
			balance: number
			offer: { kind: string; available: boolean }[]
		}
		expect(data.transformations).toMatchObject([{ kind: 'day_to_dusk', status: 'queued' }])
		expect(data.balance).toBe(balanceBefore - 2)
		expect(data.offer.every((item) => item.available)).toBe(true)

		// B, on A's photo: every read and write is a 404.
		expect((await call(() => photoLoader({ request: makeRequest(path, { jar: b.user.jar }), params, context: ctx }))).status).toBe(404)
		const asB = await call(() =>
			photoAction({
				request: makeRequest(path, { jar: b.user.jar, form: { intent: 'order', kind: 'day_to_dusk' } }),
				params,
				context: ctx,
			}),
		)
		expect(asB.status).toBe(404)
		const batchAsB = await call(() =>
			projectAction({
				request: makeRequest(`/projects/${a.projectId}`, {
					jar: b.user.jar,
					form: { intent: 'order', kind: 'enhancement', photoId: a.photoId },
				}),
				params: { projectId: a.projectId },
				context: ctx,
			}),
		)
		expect(batchAsB.status).toBe(404)
		// B tries to cancel A's transformation from B's own page: refused, A's stays queued.
		const id = (await privileged().transformation.findFirstOrThrow({ where: { userId: a.user.id } })).id
		const cancelAsB = await call(() =>
			photoAction({
				request: makeRequest(photoPath(b.projectId, b.photoId), { jar: b.user.jar, form: { intent: 'cancel', transformationId: id } }),
				params: { projectId: b.projectId, photoId: b.photoId },
				context: ctx,
			}),
		)
		expect(cancelAsB.status).toBe(302)
		expect((await privileged().transformation.findUniqueOrThrow({ where: { id } })).status).toBe('queued')
		expect(await privileged().transformation.count({ where: { userId: b.user.id } })).toBe(0)
	})

	test('the project page orders a selection; an empty selection or a bad kind orders nothing', async () => {
		const a = await owner()
		const second = await readyPhoto(a.user.id, a.projectId)
		const post = (form: Record<string, string> | URLSearchParams) => {
			const request = new Request(new URL(`/projects/${a.projectId}`, 'http://localhost:3000'), {
				method: 'POST',
				headers: { Cookie: a.user.jar.header(), 'Content-Type': 'application/x-www-form-urlencoded', 'x-renzo-client-ip': '127.0.0.1' },
				body: new URLSearchParams(form).toString(),
			})
			return call(() => projectAction({ request, params: { projectId: a.projectId }, context: ctx }))
		}
		expect((await post({ intent: 'order', kind: 'enhancement' })).status).toBe(302)
		expect(
			(
				await post(
					new URLSearchParams([
						['intent', 'order'],
						['kind', 'teleport'],
						['photoId', second],
					]),
				)
			).status,
		).toBe(302)
		expect(await privileged().transformation.count({ where: { userId: a.user.id } })).toBe(0)
		const ok = await post(
			new URLSearchParams([
				['intent', 'order'],
				['kind', 'enhancement'],
				['photoId', a.photoId],
				['photoId', second],
			]),
		)
		expect(ok.status).toBe(302)
		const rows = await privileged().transformation.findMany({ where: { userId: a.user.id }, select: { photoId: true, batchId: true } })
		expect(rows.map((row) => row.photoId).sort()).toEqual([a.photoId, second].sort())
		expect(new Set(rows.map((row) => row.batchId)).size).toBe(1)
	})
})

describe('deleting a photo', () => {
	test('its unfinished transformations are cancelled first: the reserved credits come back', async () => {
		const a = await owner()
		const path = photoPath(a.projectId, a.photoId)
		const params = { projectId: a.projectId, photoId: a.photoId }
		const before = (await privileged().user.findUniqueOrThrow({ where: { id: a.user.id } })).creditBalance
		await call(() =>
			photoAction({
				request: makeRequest(path, { jar: a.user.jar, form: { intent: 'order', kind: 'day_to_dusk' } }),
				params,
				context: ctx,
			}),
		)
		const id = (await privileged().transformation.findFirstOrThrow({ where: { userId: a.user.id } })).id
		expect((await privileged().user.findUniqueOrThrow({ where: { id: a.user.id } })).creditBalance).toBe(before - 1)
		const deleted = await call(() =>
			photoAction({ request: makeRequest(path, { jar: a.user.jar, form: { intent: 'delete', confirm: 'yes' } }), params, context: ctx }),
		)
		expect(deleted.status).toBe(302)
		expect(await privileged().photo.count({ where: { id: a.photoId } })).toBe(0)
		expect(await privileged().transformation.count({ where: { id } })).toBe(0)
		expect((await privileged().user.findUniqueOrThrow({ where: { id: a.user.id } })).creditBalance).toBe(before)
		const settled = await privileged().creditLedger.findMany({
			where: { reference: `transformation:${id}` },
			orderBy: { seq: 'asc' },
			select: { reason: true },
		})
		expect(settled.map((row) => row.reason)).toEqual(['reservation', 'release'])
	})
})

describe('live events', () => {
	test('the owner’s stream carries status changes of the project; another user gets 404', async () => {
		const a = await owner()
		const b = await owner()
		const params = { projectId: a.projectId }
		expect(
			(
				await call(() =>
					eventsLoader({ request: makeRequest(`/projects/${a.projectId}/events`, { jar: b.user.jar }), params, context: ctx }),
				)
			).status,
		).toBe(404)
		const abort = new AbortController()
		const request = new Request(new URL(`/projects/${a.projectId}/events`, 'http://localhost:3000'), {
			headers: { Cookie: a.user.jar.header(), 'x-renzo-client-ip': '127.0.0.1' },
			signal: abort.signal,
		})
		const response = (await eventsLoader({ request, params, context: ctx })) as Response
		expect(response.headers.get('Content-Type')).toMatch(/^text\/event-stream/)
		const reader = response.body!.getReader()
		const decoder = new TextDecoder()
		let received = ''
		const readUntil = async (needle: string) => {
			const deadline = Date.now() + 10_000
			while (!received.includes(needle)) {
				if (Date.now() > deadline) throw new Error(`no "${needle}" in ${received}`)
				const { value, done } = await reader.read()
				if (done) throw new Error('stream ended')
				received += decoder.decode(value)
			}
		}
		await readUntil('event: ready')
		// A's order then cancel: the cancellation (a committed status change) reaches the stream.
		await call(() =>
			photoAction({
				request: makeRequest(photoPath(a.projectId, a.photoId), { jar: a.user.jar, form: { intent: 'order', kind: 'enhancement' } }),
				params: { projectId: a.projectId, photoId: a.photoId },
				context: ctx,
			}),
		)
		const id = (await privileged().transformation.findFirstOrThrow({ where: { userId: a.user.id } })).id
		// B's project changes never reach A's stream.
		await call(() =>
			photoAction({
				request: makeRequest(photoPath(b.projectId, b.photoId), { jar: b.user.jar, form: { intent: 'order', kind: 'enhancement' } }),
				params: { projectId: b.projectId, photoId: b.photoId },
				context: ctx,
			}),
		)
		const bId = (await privileged().transformation.findFirstOrThrow({ where: { userId: b.user.id } })).id
		await cancelTransformation(b.user.id, bId)
		await cancelTransformation(a.user.id, id)
		await readUntil(`"id":"${id}","status":"canceled"`)
		expect(received).not.toContain(bId)
		abort.abort()
		await reader.cancel().catch(() => {})
	})
})

describe('Replicate webhook route', () => {
	const body = JSON.stringify({ id: 'p0nexistent00000000000000a', status: 'succeeded', output: 'http://127.0.0.1:9/x.png', error: null })
	const signed = (overrides: { secret?: string; timestamp?: number; body?: string } = {}) => {
		const id = `msg_${crypto.randomBytes(8).toString('hex')}`
		const timestamp = overrides.timestamp ?? Math.floor(Date.now() / 1000)
		const payload = overrides.body ?? body
		return new Request('http://localhost:3000/webhooks/replicate', {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'webhook-id': id,
				'webhook-timestamp': String(timestamp),
				'webhook-signature': signWebhook({ id, timestamp, body: payload, secret: overrides.secret ?? WEBHOOK_SECRET }),
			},
			body: payload,
		})
	}
	const send = (request: Request) => webhookAction({ request, params: {}, context: ctx })
	const stored = () => privileged().webhookEvent.count({ where: { provider: 'replicate' } })

	test('refuses a bad signature, a stale timestamp, an oversized body and a GET; stores a good one once', async () => {
		const before = await stored()
		expect((await send(signed({ secret: `whsec_${crypto.randomBytes(32).toString('base64')}` }))).status).toBe(401)
		expect((await send(signed({ timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }))).status).toBe(401)
		expect((await send(signed({ body: JSON.stringify({ id: 'x', pad: 'x'.repeat(300 * 1024) }) }))).status).toBe(413)
		expect((await webhookLoader()).status).toBe(405)
		expect(await stored()).toBe(before)
		const good = signed()
		const replay = good.clone()
		expect((await send(good)).status).toBe(204)
		expect((await send(replay)).status).toBe(204)
		expect(await stored()).toBe(before + 1)
	})
})
