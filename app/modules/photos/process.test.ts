import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { describe, expect, test } from 'vitest'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { createTestUser } from '#tests/utils/db.ts'
import { processPhoto } from './process.server.ts'

const FIXTURES = path.resolve(import.meta.dirname, '../../../tests/fixtures/photos')

/** A photo as the upload leaves it: original stored, row `processing` (in a new project of a new user, or in `into`). */
async function uploaded(
	fixture: string,
	ext: 'jpg' | 'heic' | 'webp',
	contentType: string,
	into?: { user: { id: string }; project: { id: string } },
) {
	const user = into?.user ?? (await createTestUser())
	const project = into?.project ?? (await privileged().project.create({ data: { userId: user.id, name: 'Loft' } }))
	const photo = await privileged().photo.create({
		data: { userId: user.id, projectId: project.id, status: 'processing', originalKey: 'x', originalFilename: fixture, contentType },
	})
	const key = storageKeys.original(user.id, project.id, photo.id, ext)
	await getStorage().put(key, fs.readFileSync(path.join(FIXTURES, fixture)), { contentType })
	await privileged().photo.update({ where: { id: photo.id }, data: { originalKey: key } })
	return { user, project, photo, key }
}

async function read(key: string) {
	const object = await getStorage().get(key)
	const chunks: Buffer[] = []
	for await (const chunk of object!.body) chunks.push(chunk as Buffer)
	return Buffer.concat(chunks)
}

describe('photo-process job', () => {
	test('a rotated JPEG with GPS: upright WebP variants without EXIF/GPS, ICC kept; row ready; project cover set', async () => {
		const { project, photo } = await uploaded('rotated-gps-p3.jpg', 'jpg', 'image/jpeg')
		await processPhoto(photo.id)
		const ready = await privileged().photo.findUniqueOrThrow({ where: { id: photo.id }, include: { variants: true } })
		expect(ready).toMatchObject({ status: 'ready', width: 1600, height: 2400, errorCode: null })
		expect(ready.sha256).toMatch(/^[0-9a-f]{64}$/)
		expect(ready.variants.map((v) => [v.kind, v.width, v.height]).sort()).toEqual([
			['preview', 1067, 1600],
			['thumbnail', 267, 400],
		])
		for (const variant of ready.variants) {
			const meta = await sharp(await read(variant.key)).metadata()
			expect(meta.format).toBe('webp')
			expect(meta.exif).toBeUndefined()
			expect(meta.xmp).toBeUndefined()
			expect(meta.icc).toBeDefined()
		}
		expect((await privileged().project.findUniqueOrThrow({ where: { id: project.id } })).coverPhotoId).toBe(photo.id)
		// Running the job again (a pg-boss retry) changes nothing.
		await processPhoto(photo.id)
		expect(await privileged().photoVariant.count({ where: { photoId: photo.id } })).toBe(2)
	})

	test('an iPhone HEIC is decoded into variants', async () => {
		const { photo } = await uploaded('iphone-portrait.heic', 'heic', 'image/heic')
		await processPhoto(photo.id)
		const ready = await privileged().photo.findUniqueOrThrow({ where: { id: photo.id }, include: { variants: true } })
		expect(ready.status).toBe('ready')
		expect(ready.variants).toHaveLength(2)
	})

	test('a file that fails at full decoding is marked error and its original deleted', async () => {
		const { photo, key } = await uploaded('truncated.jpg', 'jpg', 'image/jpeg')
		await processPhoto(photo.id)
		const failed = await privileged().photo.findUniqueOrThrow({ where: { id: photo.id }, include: { variants: true } })
		expect(failed).toMatchObject({ status: 'error', errorCode: 'corrupt' })
		expect(failed.variants).toHaveLength(0)
		expect(await getStorage().exists(key)).toBe(false)
	})

	test('a photo deleted before its job runs is left alone', async () => {
		const { photo } = await uploaded('rotated-gps-p3.jpg', 'jpg', 'image/jpeg')
		await privileged().photo.delete({ where: { id: photo.id } })
		await expect(processPhoto(photo.id)).resolves.toBeUndefined()
	})

	test('the same bytes twice in a project: the later one is flagged as the earlier one’s twin, not a copy in another project', async () => {
		const first = await uploaded('rotated-gps-p3.jpg', 'jpg', 'image/jpeg')
		const again = await uploaded('rotated-gps-p3.jpg', 'jpg', 'image/jpeg', first)
		const otherProject = await privileged().project.create({ data: { userId: first.user.id, name: 'Autre' } })
		const elsewhere = await uploaded('rotated-gps-p3.jpg', 'jpg', 'image/jpeg', { user: first.user, project: otherProject })
		const different = await uploaded('p3.webp', 'webp', 'image/webp', first)
		for (const { photo } of [first, again, elsewhere, different]) await processPhoto(photo.id)
		const twinOf = async (id: string) => (await privileged().photo.findUniqueOrThrow({ where: { id } })).duplicateOfId
		expect(await twinOf(first.photo.id)).toBeNull()
		expect(await twinOf(again.photo.id)).toBe(first.photo.id)
		expect(await twinOf(elsewhere.photo.id)).toBeNull()
		expect(await twinOf(different.photo.id)).toBeNull()
	})

	test('copies processed at the same time: exactly one is not flagged, the others point at it', async () => {
		const first = await uploaded('rotated-gps-p3.jpg', 'jpg', 'image/jpeg')
		const copies = [first, ...(await Promise.all([1, 2, 3].map(() => uploaded('rotated-gps-p3.jpg', 'jpg', 'image/jpeg', first))))]
		// Made to overlap for sure: a lock on the variants table holds every job inside its final
		// transaction (after its photo UPDATE, or waiting for its turn) until all four are there.
		let jobs: Promise<unknown> | undefined
		await privileged().$transaction(
			async (tx) => {
				await tx.$executeRaw`LOCK TABLE photo_variants IN SHARE ROW EXCLUSIVE MODE`
				jobs = Promise.all(copies.map(({ photo }) => processPhoto(photo.id)))
				const deadline = Date.now() + 30_000
				for (;;) {
					const [row] = await tx.$queryRaw<{ n: number }[]>`
						SELECT count(DISTINCT pid)::int AS n FROM pg_locks WHERE NOT granted`
					if (row!.n >= copies.length) break
					if (Date.now() > deadline) throw new Error(`only ${row!.n} of ${copies.length} jobs reached their final transaction`)
					await new Promise((resolve) => setTimeout(resolve, 20))
				}
			},
			{ timeout: 40_000 },
		)
		await jobs
		const rows = await privileged().photo.findMany({ where: { projectId: first.project.id } })
		expect(rows.map((r) => r.status)).toEqual(['ready', 'ready', 'ready', 'ready'])
		const originals = rows.filter((r) => r.duplicateOfId === null)
		expect(originals).toHaveLength(1)
		for (const row of rows) if (row !== originals[0]) expect(row.duplicateOfId).toBe(originals[0]!.id)
	})
})
