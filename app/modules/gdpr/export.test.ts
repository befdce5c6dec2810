import { createApiKey, hashApiKey } from '#app/modules/api/keys.server.ts'
import { createEndpoint } from '#app/modules/webhooks-out/endpoints.server.ts'
import crypto from 'node:crypto'
import { afterAll, describe, expect, test } from 'vitest'
import yauzl from 'yauzl'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage, verifySignedPath } from '#app/modules/storage/storage.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { action as exportAction, loader as exportPageLoader } from '#app/routes/settings+/export.tsx'
import { loader as downloadLoader } from '#app/routes/settings+/export_.$exportId.ts'
import { call, makeRequest, type CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { queuedEmailsTo } from '#tests/utils/mail.ts'
import { readyPhoto, roomJpeg } from '#tests/utils/photos.ts'
import { startWorker } from '#worker/start.ts'
import { buildExport, maxExportsPerDay, purgeExpiredExports } from './export.server.ts'
import { until } from '#tests/utils/until.ts'

const ctx = { nonce: 'n', csrfToken: 't' }
let worker: Awaited<ReturnType<typeof startWorker>> | undefined

afterAll(async () => {
	await worker?.stop(5_000)
})

/** A user with a project, a ready photo, a succeeded transformation with its stored result, and a TOTP secret. */
async function userWithData(projectName: string) {
	const user = await loggedInUser()
	const project = await privileged().project.create({ data: { userId: user.id, name: projectName }, select: { id: true } })
	const original = await roomJpeg(800, 600)
	const photoId = await readyPhoto(user.id, project.id, { bytes: original, filename: 'séjour.jpg' })
	const transformation = await privileged().transformation.create({
		data: {
			userId: user.id,
			projectId: project.id,
			photoId,
			batchId: crypto.randomUUID(),
			kind: 'virtual_staging',
			style: 'scandinavian',
			creditsCost: 1,
			provider: 'local',
			status: 'succeeded',
		},
		select: { id: true },
	})
	const result = crypto.randomBytes(5_000)
	const outputKey = storageKeys.transformed(user.id, project.id, transformation.id, 'webp')
	await getStorage().put(outputKey, result, { contentType: 'image/webp' })
	await privileged().transformation.update({ where: { id: transformation.id }, data: { outputKey, completedAt: new Date() } })
	const totpSecret = `JBSWY3DPEHPK3PXP${crypto.randomBytes(4).toString('hex').toUpperCase()}`
	await privileged().user.update({ where: { id: user.id }, data: { totpSecret } })
	return { user, projectId: project.id, photoId, transformationId: transformation.id, original, result, totpSecret }
}

function requestExport(jar: CookieJar) {
	return call(() => exportAction({ request: makeRequest('/settings/export', { jar, form: {} }), params: {}, context: ctx }))
}

function download(jar: CookieJar, exportId: string) {
	return call(() => downloadLoader({ request: makeRequest(`/settings/export/${exportId}`, { jar }), params: { exportId }, context: ctx }))
}

async function readObject(key: string) {
	const object = await getStorage().get(key)
	if (!object) throw new Error(`missing ${key}`)
	const chunks: Buffer[] = []
	for await (const chunk of object.body) chunks.push(chunk as Buffer)
	return Buffer.concat(chunks)
}

/** Every entry of a ZIP, checked by yauzl (sizes, CRC). */
function unzip(buffer: Buffer): Promise<Map<string, Buffer>> {
	return new Promise((resolve, reject) => {
		yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (error, zip) => {
			if (error) return reject(error)
			const files = new Map<string, Buffer>()
			zip.on('error', reject)
			zip.on('end', () => resolve(files))
			zip.on('entry', (entry: yauzl.Entry) => {
				zip.openReadStream(entry, (streamError, stream) => {
					if (streamError) return reject(streamError)
					const chunks: Buffer[] = []
					stream.on('data', (chunk: Buffer) => chunks.push(chunk))
					stream.on('error', reject)
					stream.on('end', () => {
						files.set(entry.fileName, Buffer.concat(chunks))
						zip.readEntry()
					})
				})
			})
			zip.readEntry()
		})
	})
}

describe('GDPR export', () => {
	test('request → job → ZIP in storage with my rows and files only, no secrets; emailed; downloadable by me only', async () => {
		const me = await userWithData('T3 Lyon 6e – Foch')
		const stranger = await userWithData('Maison de quelqu’un d’autre')

		// The public API and outgoing webhooks hold rows about me too; their secrets stay out.
		const apiKey = await createApiKey(me.user.id, 'Logiciel de l’agence')
		const endpoint = await createEndpoint(me.user.id, {
			url: 'https://crm.agence.example/renzo',
			description: 'CRM',
			events: ['transformation.succeeded'],
		})
		const sealedSecret = (await privileged().webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).secretSealed

		const requested = await requestExport(me.user.jar)
		expect(requested.status).toBe(302)
		expect(requested.response?.headers.get('Location')).toBe('/settings/export')
		const row = await privileged().dataExport.findFirstOrThrow({ where: { userId: me.user.id } })
		expect(row.status).toBe('queued')
		expect(await privileged().auditEvent.count({ where: { userId: me.user.id, type: 'gdpr.export_requested' } })).toBe(1)

		worker = await startWorker({ queues: ['data-export'] })
		const ready = await until(
			'the export to be ready',
			() => privileged().dataExport.findUniqueOrThrow({ where: { id: row.id } }),
			(r) => r.status !== 'queued',
		)
		expect(ready.status).toBe('ready')
		expect(ready.key).toBe(storageKeys.exportArchive(me.user.id, row.id))
		const expiresIn = ready.expiresAt!.getTime() - Date.now()
		expect(expiresIn).toBeGreaterThan(23 * 3600 * 1000)
		expect(expiresIn).toBeLessThanOrEqual(24 * 3600 * 1000)

		const zipBytes = await readObject(ready.key!)
		expect(Number(ready.sizeBytes)).toBe(zipBytes.length)
		const files = await unzip(zipBytes)
		const text = files.get('donnees.json')!.toString('utf8')
		const json = JSON.parse(text) as Record<string, unknown[]> & { account: Record<string, unknown> }
		expect(json.account).toMatchObject({ id: me.user.id, email: me.user.email })
		expect(json.projects).toEqual([expect.objectContaining({ id: me.projectId, name: 'T3 Lyon 6e – Foch' })])
		expect(json.photos).toEqual([expect.objectContaining({ id: me.photoId, originalFilename: 'séjour.jpg' })])
		expect(json.transformations).toEqual([expect.objectContaining({ id: me.transformationId, style: 'scandinavian' })])
		expect(json.sessions).toHaveLength(1)
		expect(json.ledger!.length).toBeGreaterThan(0)
		expect(json.auditEvents!.length).toBeGreaterThan(0)
		for (const key of ['purchases', 'subscriptions', 'customStyles']) expect(json[key]).toEqual([])
		expect(json.apiKeys).toEqual([expect.objectContaining({ id: apiKey.id, name: 'Logiciel de l’agence', prefix: apiKey.prefix })])
		expect(json.webhooks).toMatchObject({ endpoints: [{ id: endpoint.id, url: 'https://crm.agence.example/renzo', description: 'CRM' }] })
		for (const secret of [apiKey.secret, hashApiKey(apiKey.secret), endpoint.secret, sealedSecret]) expect(text).not.toContain(secret)

		// Nobody else's data.
		for (const other of [stranger.user.id, stranger.user.email, stranger.projectId, stranger.photoId, 'quelqu’un'])
			expect(text).not.toContain(other)
		// No secrets: TOTP secret, session ids (hashes), IP hashes.
		const sessionIds = await privileged().session.findMany({ where: { userId: me.user.id }, select: { id: true } })
		expect(text).not.toContain(me.totpSecret)
		for (const { id } of sessionIds) expect(text).not.toContain(id)
		for (const secretField of ['totpSecret', 'totpLastUsedStep', 'ipHash', 'codeHash', 'tokenHash', 'secretHash', 'secretSealed'])
			expect(text).not.toContain(secretField)

		// The files, byte for byte, and nothing of the stranger's.
		expect(files.get(`originaux/${me.photoId}.jpg`)?.equals(me.original)).toBe(true)
		expect(files.get(`transformations/${me.transformationId}.webp`)?.equals(me.result)).toBe(true)
		expect([...files.keys()].sort()).toEqual(
			['donnees.json', `originaux/${me.photoId}.jpg`, `transformations/${me.transformationId}.webp`].sort(),
		)

		// Emailed, with the link to the download route; audited.
		const [email] = await queuedEmailsTo(me.user.email)
		expect(email?.text).toContain(`/settings/export/${row.id}`)
		expect(await privileged().auditEvent.count({ where: { userId: me.user.id, type: 'gdpr.export_ready' } })).toBe(1)

		// The job again (a retry): nothing changes.
		await buildExport(row.id)
		expect(await queuedEmailsTo(me.user.email)).toHaveLength(1)

		// Download: me → a 5-minute signed URL; the stranger → 404.
		const mine = await download(me.user.jar, row.id)
		expect(mine.status).toBe(302)
		const signed = verifySignedPath(new URL(mine.response!.headers.get('Location')!, 'http://localhost:3000'))
		expect(signed?.key).toBe(ready.key)
		expect(signed?.downloadName).toMatch(/^renzo-donnees-\d{4}-\d{2}-\d{2}\.zip$/)
		expect(signed!.expiresAt * 1000 - Date.now()).toBeLessThanOrEqual(300_000)
		expect((await download(stranger.user.jar, row.id)).status).toBe(404)
		expect((await download(me.user.jar, 'not-a-uuid')).status).toBe(404)

		const page = await call(() =>
			exportPageLoader({ request: makeRequest('/settings/export', { jar: me.user.jar }), params: {}, context: ctx }),
		)
		expect((page.data as { exports: { id: string; status: string }[] }).exports).toEqual([
			expect.objectContaining({ id: row.id, status: 'ready' }),
		])

		// Expired: 404, then the maintenance purge deletes the object and marks the row.
		await privileged().dataExport.update({ where: { id: row.id }, data: { expiresAt: new Date(Date.now() - 1000) } })
		expect((await download(me.user.jar, row.id)).status).toBe(404)
		expect(await purgeExpiredExports()).toBeGreaterThanOrEqual(1)
		expect(await getStorage().exists(ready.key!)).toBe(false)
		expect((await privileged().dataExport.findUniqueOrThrow({ where: { id: row.id } })).status).toBe('expired')
		await worker.stop(5_000)
		worker = undefined
	})

	// No worker here: the requests stay queued.
	test('one pending export at a time, and at most 3 per 24 h', async () => {
		const { jar, id } = await loggedInUser()
		expect((await requestExport(jar)).status).toBe(302)
		const pending = await requestExport(jar)
		expect(pending.status).toBe(409)
		expect(pending.data).toEqual({ error: 'gdpr.error.pending' })
		expect(await privileged().dataExport.count({ where: { userId: id } })).toBe(1)

		// Done exports no longer block; the daily count does.
		for (let i = 1; i < maxExportsPerDay(); i++) {
			await privileged().dataExport.updateMany({ where: { userId: id }, data: { status: 'failed' } })
			expect((await requestExport(jar)).status).toBe(302)
		}
		await privileged().dataExport.updateMany({ where: { userId: id }, data: { status: 'failed' } })
		const limited = await requestExport(jar)
		expect(limited.status).toBe(429)
		expect(limited.data).toMatchObject({ error: 'gdpr.error.rateLimited', vars: { max: maxExportsPerDay(), hours: 24 } })
		expect(await privileged().dataExport.count({ where: { userId: id } })).toBe(maxExportsPerDay())
		const jobs = await privileged().$queryRaw<{ n: number }[]>`
			SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'data-export' AND data->>'exportId' IN (
				SELECT id::text FROM data_exports WHERE user_id = ${id}::uuid)`
		expect(jobs[0]!.n).toBe(maxExportsPerDay())
	})
})
