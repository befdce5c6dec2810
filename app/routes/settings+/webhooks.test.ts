import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { translate, type MessageKey } from '#app/modules/i18n/catalog.ts'
import { queues } from '#app/modules/queue/catalog.ts'
import { MAX_ENDPOINTS } from '#app/modules/webhooks-out/endpoints.server.ts'
import { unseal } from '#app/utils/crypto.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { documentedVerifier, startWebhookReceiver, type DocumentedVerifier, type WebhookReceiver } from '#tests/fakes/webhook-receiver.ts'
import { call, makeRequest, type CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { handlers } from '#worker/jobs/index.ts'
import { action as detailAction, loader as detailLoader } from './webhooks_.$endpointId.tsx'
import { action as listAction, loader as listLoader } from './webhooks.tsx'

const ctx = { nonce: '', csrfToken: '' }
const events = ['transformation.succeeded', 'transformation.failed', 'batch.completed', 'credits.low']

let receiver: WebhookReceiver
let verify: DocumentedVerifier

beforeAll(async () => {
	process.env.WEBHOOKS_ALLOW_LOOPBACK = 'true'
	reloadEnv()
	receiver = await startWebhookReceiver()
	verify = await documentedVerifier()
})
afterAll(async () => {
	await receiver?.close()
	delete process.env.WEBHOOKS_ALLOW_LOOPBACK
	reloadEnv()
})

/** A form as the browser sends it (repeated `events` checkboxes included). */
function formRequest(path: string, jar: CookieJar, fields: Record<string, string | string[]>) {
	const body = new URLSearchParams()
	for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v)
	const request = makeRequest(path, { jar, method: 'POST' })
	return new Request(request, {
		body,
		headers: { ...Object.fromEntries(request.headers), 'Content-Type': 'application/x-www-form-urlencoded' },
	})
}

const create = (jar: CookieJar, fields: Record<string, string | string[]>) =>
	call(() => listAction({ request: formRequest('/settings/webhooks', jar, { intent: 'create', ...fields }), params: {}, context: ctx }))
const list = (jar: CookieJar) => call(() => listLoader({ request: makeRequest('/settings/webhooks', { jar }), params: {}, context: ctx }))
const detail = (jar: CookieJar, endpointId: string, query = '') =>
	call(() =>
		detailLoader({ request: makeRequest(`/settings/webhooks/${endpointId}${query}`, { jar }), params: { endpointId }, context: ctx }),
	)
const act = (jar: CookieJar, endpointId: string, fields: Record<string, string | string[]>) =>
	call(() => detailAction({ request: formRequest(`/settings/webhooks/${endpointId}`, jar, fields), params: { endpointId }, context: ctx }))

async function created(jar: CookieJar, url = receiver.url) {
	const result = await create(jar, { url, description: 'Logiciel d’annonces', events })
	expect(result.status).toBe(200)
	return (result.data as { created: { id: string; secret: string } }).created
}

const manualJobs = async (deliveryId?: string) =>
	(
		await privileged().$queryRaw<{ data: { deliveryId: string; manual?: boolean } }[]>`
			SELECT data FROM pgboss.job WHERE name = 'webhook-deliver' AND data->>'manual' = 'true' ORDER BY created_on`
	).filter((job) => !deliveryId || job.data.deliveryId === deliveryId)
const runJob = (data: unknown) => handlers['webhook-deliver'](queues['webhook-deliver'].payload.parse(data))

type Detail = {
	endpoint: { id: string; url: string; disabledAt: string | null; events: string[] }
	deliveries: {
		id: string
		status: string
		event: { id: string; type: string }
		attemptLog: { statusCode: number | null; trigger: string }[]
	}[]
}

describe('webhook settings', () => {
	test('bad input gets a clear French error next to its field, and nothing is written', async () => {
		const me = await loggedInUser()
		const cases: [Record<string, string | string[]>, Record<string, MessageKey>][] = [
			[{ url: 'http://hooks.agence-exemple.fr/renzo', events }, { url: 'webhooks.error.url.httpsRequired' }],
			[{ url: 'https://192.168.1.20/renzo', events }, { url: 'webhooks.error.url.privateAddress' }],
			[{ url: 'https://169.254.169.254/latest', events }, { url: 'webhooks.error.url.privateAddress' }],
			[{ url: 'https://localhost/renzo', events }, { url: 'webhooks.error.url.localName' }],
			[{ url: 'https://moi:secret@hooks.agence-exemple.fr/', events }, { url: 'webhooks.error.url.credentials' }],
			[{ url: 'https://hooks.agence-exemple.fr:25/', events }, { url: 'webhooks.error.url.port' }],
			[{ url: '', events }, { url: 'webhooks.error.url.required' }],
			[{ url: 'https://hooks.agence-exemple.fr/renzo' }, { events: 'webhooks.error.events' }],
			[{ url: 'https://hooks.agence-exemple.fr/renzo', events: ['photo.deleted'] }, { events: 'webhooks.error.events' }],
			[
				{ url: 'https://hooks.agence-exemple.fr/renzo', events, description: 'x'.repeat(201) },
				{ description: 'webhooks.error.descriptionTooLong' },
			],
		]
		for (const [fields, errors] of cases) {
			const result = await create(me.jar, fields)
			expect(result.status, JSON.stringify(fields)).toBe(400)
			expect((result.data as { errors: unknown }).errors).toEqual(errors)
		}
		expect(translate('fr', 'webhooks.error.url.httpsRequired')).toBe(
			'L’adresse doit commencer par https:// : les notifications voyagent chiffrées.',
		)
		expect(translate('fr', 'webhooks.error.url.privateAddress')).toMatch(/^Cette adresse est privée ou réservée/)
		// What was typed comes back to the form.
		const typed = await create(me.jar, { url: 'http://hooks.agence-exemple.fr/renzo', events: ['credits.low'] })
		expect((typed.data as { values: unknown }).values).toEqual({
			url: 'http://hooks.agence-exemple.fr/renzo',
			description: '',
			events: ['credits.low'],
		})
		expect(await privileged().webhookEndpoint.count({ where: { userId: me.id } })).toBe(0)
	})

	test('created: the secret is shown once, stored sealed, never on the pages again; audited', async () => {
		const me = await loggedInUser()
		const { id, secret } = await created(me.jar, 'https://hooks.agence-exemple.fr/renzo?canal=annonces')
		expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/)
		const row = await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id } })
		expect(row).toMatchObject({
			userId: me.id,
			url: 'https://hooks.agence-exemple.fr/renzo?canal=annonces',
			description: 'Logiciel d’annonces',
			events,
		})
		expect(row.secretSealed).not.toContain(secret)
		expect(unseal<string>(row.secretSealed)).toBe(secret)

		const page = await list(me.jar)
		expect(page.data).toMatchObject({ endpoints: [{ id, url: row.url, events, disabledAt: null, lastDelivery: null }] })
		expect(JSON.stringify(page.data)).not.toContain(secret)
		expect(JSON.stringify((await detail(me.jar, id)).data)).not.toContain(secret)
		const audits = await privileged().auditEvent.findMany({ where: { userId: me.id, type: 'webhook_endpoint.created' } })
		expect(audits.map((a) => a.data)).toEqual([{ endpointId: id, host: 'hooks.agence-exemple.fr', events }])
	})

	test('« Envoyer un test », the delivery log and « Renvoyer »: same event id, signed with the current secret', async () => {
		const me = await loggedInUser()
		const { id, secret } = await created(me.jar)
		const sent = await act(me.jar, id, { intent: 'test' })
		expect(sent.status).toBe(302)
		expect(sent.response!.headers.get('Location')).toBe(`/settings/webhooks/${id}`)
		const queued = await privileged().webhookDelivery.findFirstOrThrow({ where: { endpointId: id }, select: { id: true } })
		const [job] = await manualJobs(queued.id)
		await runJob(job!.data)
		const testRequest = receiver.received.at(-1)!
		expect(verify(testRequest.rawBody, testRequest.headers, secret)).toBe(true)
		expect(JSON.parse(testRequest.rawBody.toString())).toMatchObject({ type: 'webhook.test', data: { endpoint_id: id } })

		const log = (await detail(me.jar, id)).data as Detail
		expect(log.deliveries).toHaveLength(1)
		const delivery = log.deliveries[0]!
		expect(delivery).toMatchObject({
			status: 'succeeded',
			event: { type: 'webhook.test' },
			attemptLog: [{ statusCode: 204, trigger: 'manual' }],
		})

		// A new secret: shown once; the resend carries the same event, signed with it.
		const regenerated = await act(me.jar, id, { intent: 'regenerate' })
		const fresh = (regenerated.data as { secret: string }).secret
		expect(fresh).toMatch(/^whsec_/)
		expect(fresh).not.toBe(secret)
		const resent = await act(me.jar, id, { intent: 'resend', deliveryId: delivery.id })
		expect(resent.status).toBe(302)
		const jobs = await manualJobs(delivery.id)
		expect(jobs).toHaveLength(2)
		await runJob(jobs[1]!.data)
		const again = receiver.received.at(-1)!
		expect(again.headers['renzo-webhook-id']).toBe(delivery.event.id)
		expect(again.rawBody.equals(testRequest.rawBody)).toBe(true)
		expect(verify(again.rawBody, again.headers, fresh)).toBe(true)
		expect(verify(again.rawBody, again.headers, secret)).toBe(false)
		expect(((await detail(me.jar, id)).data as Detail).deliveries[0]!.attemptLog.map((a) => a.statusCode)).toEqual([204, 204])
	})

	test('user B can neither see nor touch A’s endpoints or deliveries: 404, nothing changes', async () => {
		const a = await loggedInUser()
		const b = await loggedInUser()
		const { id } = await created(a.jar)
		await act(a.jar, id, { intent: 'test' })
		const deliveryId = (await privileged().webhookDelivery.findFirstOrThrow({ where: { endpointId: id } })).id
		const before = await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id } })
		const jobsBefore = (await manualJobs()).length
		const { id: bEndpoint } = await created(b.jar)

		expect((await detail(b.jar, id)).status).toBe(404)
		const attempts: Record<string, string | string[]>[] = [
			{ intent: 'test' },
			{ intent: 'resend', deliveryId },
			{ intent: 'regenerate' },
			{ intent: 'disable' },
			{ intent: 'enable' },
			{ intent: 'update', url: 'https://intrus.example.fr/x', events },
			{ intent: 'delete', confirm: 'yes' },
		]
		for (const fields of attempts) expect((await act(b.jar, id, fields)).status, String(fields.intent)).toBe(404)
		// Nor through B's own endpoint, nor A's delivery under another of A's endpoints.
		expect((await act(b.jar, bEndpoint, { intent: 'resend', deliveryId })).status).toBe(404)
		const { id: aOther } = await created(a.jar)
		expect((await act(a.jar, aOther, { intent: 'resend', deliveryId })).status).toBe(404)
		expect((await detail(b.jar, 'pas-un-uuid')).status).toBe(404)

		expect(JSON.stringify((await list(b.jar)).data)).not.toContain(id)
		expect(await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id } })).toEqual(before)
		expect((await manualJobs()).length).toBe(jobsBefore)
	})

	test('disable, enable, edit and delete (with confirmation), audited; the 11th endpoint is refused', async () => {
		const me = await loggedInUser()
		const { id } = await created(me.jar)
		expect((await act(me.jar, id, { intent: 'disable' })).status).toBe(302)
		let row = await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id } })
		expect(row).toMatchObject({ disabledReason: 'user' })
		expect(row.disabledAt).not.toBeNull()
		await privileged().webhookEndpoint.update({ where: { id }, data: { consecutiveFailures: 3, failingSince: new Date() } })
		expect((await act(me.jar, id, { intent: 'enable' })).status).toBe(302)
		row = await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id } })
		expect(row).toMatchObject({ disabledAt: null, disabledReason: null, consecutiveFailures: 0, failingSince: null })

		const refused = await act(me.jar, id, { intent: 'update', url: 'https://10.0.0.8/x', events })
		expect(refused.status).toBe(400)
		expect(refused.data).toEqual({ errors: { url: 'webhooks.error.url.privateAddress' } })
		const saved = await act(me.jar, id, {
			intent: 'update',
			url: 'https://crm.agence-exemple.fr/renzo',
			description: 'CRM',
			events: ['batch.completed'],
		})
		expect(saved.status).toBe(302)
		expect(await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id } })).toMatchObject({
			url: 'https://crm.agence-exemple.fr/renzo',
			description: 'CRM',
			events: ['batch.completed'],
		})

		expect((await act(me.jar, id, { intent: 'delete' })).response!.headers.get('Location')).toBe(`/settings/webhooks/${id}`)
		expect(await privileged().webhookEndpoint.count({ where: { id } })).toBe(1)
		const deleted = await act(me.jar, id, { intent: 'delete', confirm: 'yes' })
		expect(deleted.response!.headers.get('Location')).toBe('/settings/webhooks')
		expect(await privileged().webhookEndpoint.count({ where: { id } })).toBe(0)
		const audits = await privileged().auditEvent.findMany({
			where: { userId: me.id },
			orderBy: { createdAt: 'asc' },
			select: { type: true, data: true },
		})
		expect(audits.filter((a) => a.type.startsWith('webhook_endpoint.'))).toEqual([
			{ type: 'webhook_endpoint.created', data: expect.objectContaining({ endpointId: id }) },
			{ type: 'webhook_endpoint.disabled', data: { endpointId: id, reason: 'user' } },
			{ type: 'webhook_endpoint.deleted', data: { endpointId: id, host: 'crm.agence-exemple.fr' } },
		])

		for (let n = 0; n < MAX_ENDPOINTS; n++) await created(me.jar, `https://hooks${n}.agence-exemple.fr/renzo`)
		const tooMany = await create(me.jar, { url: 'https://encore.agence-exemple.fr/renzo', events })
		expect(tooMany.status).toBe(409)
		expect(tooMany.data).toMatchObject({ error: 'webhooks.error.tooMany', vars: { max: MAX_ENDPOINTS } })
		expect(await privileged().webhookEndpoint.count({ where: { userId: me.id } })).toBe(MAX_ENDPOINTS)
	})
})
