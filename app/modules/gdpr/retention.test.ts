import crypto from 'node:crypto'
import { afterEach, describe, expect, test } from 'vitest'
import yauzl from 'yauzl'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { loader as photoLoader } from '#app/routes/projects+/$projectId_.photos.$photoId.tsx'
import { loader as zipLoader } from '#app/routes/projects+/$projectId_.zip.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { gdprRetention } from '#worker/jobs/gdpr-retention.ts'
import { call, makeRequest, type CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { readyPhoto, roomJpeg } from '#tests/utils/photos.ts'
import { buildExport, collectUserData } from './export.server.ts'
import { purgeArchivedOriginals, runRetention } from './retention.server.ts'

const ctx = { nonce: 'n', csrfToken: 't' }
const DAY_MS = 86_400_000

afterEach(() => {
	delete process.env.RETENTION_ARCHIVED_ORIGINALS_DAYS
	delete process.env.EXPORT_RETENTION_HOURS
	reloadEnv()
})

const exists = (key: string) => getStorage().exists(key)

/** A project with two ready photos (original + thumbnail + preview each) and a stored result, archived `archivedDaysAgo` ago (null: active). */
async function projectWithPhotos(userId: string, archivedDaysAgo: number | null) {
	const project = await privileged().project.create({ data: { userId, name: 'Appartement Haussmannien' }, select: { id: true } })
	const photoIds = [await readyPhoto(userId, project.id, { bytes: await roomJpeg(640, 480) }), await readyPhoto(userId, project.id)]
	const transformation = await privileged().transformation.create({
		data: {
			userId,
			projectId: project.id,
			photoId: photoIds[0]!,
			batchId: crypto.randomUUID(),
			kind: 'enhancement',
			creditsCost: 1,
			provider: 'local',
			status: 'succeeded',
		},
		select: { id: true },
	})
	const outputKey = storageKeys.transformed(userId, project.id, transformation.id, 'jpg')
	await getStorage().put(outputKey, await roomJpeg(320, 240), { contentType: 'image/jpeg' })
	await privileged().transformation.update({ where: { id: transformation.id }, data: { outputKey, completedAt: new Date() } })
	if (archivedDaysAgo !== null)
		await privileged().project.update({
			where: { id: project.id },
			data: { status: 'archived', archivedAt: new Date(Date.now() - archivedDaysAgo * DAY_MS) },
		})
	const photos = await privileged().photo.findMany({
		where: { projectId: project.id },
		select: { id: true, originalKey: true, originalPurgedAt: true, variants: { select: { key: true } } },
	})
	return { projectId: project.id, photos, outputKey }
}

type Project = Awaited<ReturnType<typeof projectWithPhotos>>

async function state(project: Project) {
	const photos = await privileged().photo.findMany({ where: { projectId: project.projectId }, select: { originalPurgedAt: true } })
	return {
		originals: await Promise.all(project.photos.map((p) => exists(p.originalKey))),
		variants: await Promise.all(project.photos.flatMap((p) => p.variants.map((v) => exists(v.key)))),
		result: await exists(project.outputKey),
		purged: photos.map((p) => p.originalPurgedAt !== null),
	}
}

const untouched = (project: Project) => ({
	originals: project.photos.map(() => true),
	variants: project.photos.flatMap((p) => p.variants.map(() => true)),
	result: true,
	purged: project.photos.map(() => false),
})

function photoPage(jar: CookieJar, projectId: string, photoId: string) {
	return call(() =>
		photoLoader({
			request: makeRequest(`/projects/${projectId}/photos/${photoId}`, { jar }),
			params: { projectId, photoId },
			context: ctx,
		}),
	)
}

function zipEntries(buffer: Buffer): Promise<string[]> {
	return new Promise((resolve, reject) => {
		yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true }, (error, zip) => {
			if (error) return reject(error)
			const names: string[] = []
			zip.on('error', reject)
			zip.on('end', () => resolve(names.sort()))
			zip.on('entry', (entry: yauzl.Entry) => {
				names.push(entry.fileName)
				zip.readEntry()
			})
			zip.readEntry()
		})
	})
}

describe('retention: originals of long-archived projects', () => {
	test('archived past the period → originals deleted and marked, variants and results kept; recent archive, active project and another user untouched; idempotent', async () => {
		const me = await loggedInUser()
		const other = await loggedInUser()
		const old = await projectWithPhotos(me.id, 400)
		const recent = await projectWithPhotos(me.id, 10)
		const active = await projectWithPhotos(me.id, null)
		const othersActive = await projectWithPhotos(other.id, null)
		const othersRecent = await projectWithPhotos(other.id, 30)

		// Configurable: with a 500-day period, a project archived 400 days ago is not due yet.
		process.env.RETENTION_ARCHIVED_ORIGINALS_DAYS = '500'
		reloadEnv()
		expect((await runRetention()).originals).toBe(0)
		expect(await state(old)).toEqual(untouched(old))

		// The default, 365 days.
		delete process.env.RETENTION_ARCHIVED_ORIGINALS_DAYS
		reloadEnv()
		expect((await runRetention()).originals).toBe(2)
		expect(await state(old)).toEqual({
			originals: [false, false],
			variants: old.photos.flatMap((p) => p.variants.map(() => true)),
			result: true,
			purged: [true, true],
		})
		for (const project of [recent, active, othersActive, othersRecent]) expect(await state(project)).toEqual(untouched(project))

		// Again: nothing more to do, nothing else changes.
		expect((await runRetention()).originals).toBe(0)
		expect(await state(old)).toMatchObject({ originals: [false, false], purged: [true, true], result: true })
		expect(await state(recent)).toEqual(untouched(recent))

		// The photo page says why there is no download; a kept photo still has its link.
		const purgedPage = await photoPage(me.jar, old.projectId, old.photos[0]!.id)
		expect(purgedPage.status).toBe(200)
		const purged = purgedPage.data as {
			photo: { downloadUrl: string | null; originalPurgedAt: Date | null; preview: unknown }
			retentionDays: number
		}
		expect(purged.photo.downloadUrl).toBeNull()
		expect(purged.photo.originalPurgedAt).toBeInstanceOf(Date)
		expect(purged.photo.preview).not.toBeNull()
		expect(purged.retentionDays).toBe(365)
		const keptPage = await photoPage(me.jar, recent.projectId, recent.photos[0]!.id)
		expect((keptPage.data as { photo: { downloadUrl: string | null } }).photo.downloadUrl).toBeTruthy()

		// The project ZIP still downloads (results only), without a 500 or a missing-file warning.
		const zip = await call(() =>
			zipLoader({
				request: makeRequest(`/projects/${old.projectId}/zip`, { jar: me.jar }),
				params: { projectId: old.projectId },
				context: ctx,
			}),
		)
		expect(zip.status).toBe(200)
		const names = await zipEntries(Buffer.from(await zip.response!.arrayBuffer()))
		expect(names).toHaveLength(1)
		expect(names[0]).toMatch(/^transformations\//)

		// A GDPR export after the purge: the photo rows say when their original went, no file for them.
		const exportRow = await privileged().dataExport.create({ data: { userId: me.id }, select: { id: true } })
		await buildExport(exportRow.id)
		expect(await privileged().dataExport.findUniqueOrThrow({ where: { id: exportRow.id }, select: { status: true } })).toEqual({
			status: 'ready',
		})
		const data = await collectUserData(me.id)
		const purgedRow = data.photos.find((p) => p.id === old.photos[0]!.id)
		expect(purgedRow?.originalPurgedAt).toBeInstanceOf(Date)
	})

	test('batched: small batches still reach every due photo; a restored project is left alone', async () => {
		const me = await loggedInUser()
		const due = [await projectWithPhotos(me.id, 800), await projectWithPhotos(me.id, 366)]
		const restored = await projectWithPhotos(me.id, 900)
		await privileged().project.update({ where: { id: restored.projectId }, data: { status: 'active', archivedAt: null } })
		expect(await purgeArchivedOriginals({ batchSize: 1 })).toBe(4)
		for (const project of due) expect((await state(project)).purged).toEqual([true, true])
		expect(await state(restored)).toEqual(untouched(restored))
	})
})

describe('retention: the scheduled job', () => {
	test('gdpr-retention is scheduled daily in pg-boss, and its handler runs the pass', async () => {
		const schedules = await privileged().$queryRaw<{ name: string; cron: string }[]>`
			SELECT name, cron FROM pgboss.schedule WHERE name = 'gdpr-retention'`
		expect(schedules).toEqual([{ name: 'gdpr-retention', cron: '43 3 * * *' }])
		const me = await loggedInUser()
		const old = await projectWithPhotos(me.id, 400)
		await gdprRetention()
		expect((await state(old)).purged).toEqual([true, true])
	})
})

describe('retention: export archives', () => {
	test('an expired archive: object deleted, row expired; an unexpired one kept; the period is configurable', async () => {
		const me = await loggedInUser()
		const make = async (expiresInMs: number) => {
			const row = await privileged().dataExport.create({ data: { userId: me.id }, select: { id: true } })
			const key = storageKeys.exportArchive(me.id, row.id)
			await getStorage().put(key, crypto.randomBytes(2_000), { contentType: 'application/zip' })
			await privileged().dataExport.update({
				where: { id: row.id },
				data: { status: 'ready', key, sizeBytes: 2_000, expiresAt: new Date(Date.now() + expiresInMs) },
			})
			return { id: row.id, key }
		}
		const expired = await make(-60_000)
		const live = await make(3_600_000)
		expect((await runRetention()).exports).toBeGreaterThanOrEqual(1)
		expect(await exists(expired.key)).toBe(false)
		expect(await privileged().dataExport.findUniqueOrThrow({ where: { id: expired.id }, select: { status: true, key: true } })).toEqual({
			status: 'expired',
			key: null,
		})
		expect(await exists(live.key)).toBe(true)
		expect(await privileged().dataExport.findUniqueOrThrow({ where: { id: live.id }, select: { status: true } })).toEqual({
			status: 'ready',
		})
		// Again: nothing left to do for these.
		await runRetention()
		expect(await exists(live.key)).toBe(true)

		// EXPORT_RETENTION_HOURS sets the lifetime given to a new archive.
		process.env.EXPORT_RETENTION_HOURS = '2'
		reloadEnv()
		const request = await privileged().dataExport.create({ data: { userId: me.id }, select: { id: true } })
		const before = Date.now()
		await buildExport(request.id)
		const built = await privileged().dataExport.findUniqueOrThrow({ where: { id: request.id }, select: { expiresAt: true } })
		const lifetimeHours = (built.expiresAt!.getTime() - before) / 3_600_000
		expect(lifetimeHours).toBeGreaterThan(1.9)
		expect(lifetimeHours).toBeLessThanOrEqual(2.01)
	})
})
