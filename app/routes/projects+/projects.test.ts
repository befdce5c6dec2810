import sharp from 'sharp'
import { describe, expect, test } from 'vitest'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { deleteProject } from '#app/modules/projects/delete.server.ts'
import { grant, reserve } from '#app/modules/credits/ledger.server.ts'
import { privileged, withUser } from '#app/utils/db.server.ts'
import { call, type CookieJar, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { action as listAction, loader as listLoader } from './index.tsx'
import { action as projectAction, loader as projectLoader } from './$projectId.tsx'
import { action as photoAction, loader as photoLoader } from './$projectId_.photos.$photoId.tsx'

const ctx = { nonce: '', csrfToken: '' }

async function createProject(jar: CookieJar, form: Record<string, string>) {
	return call(() => listAction({ request: makeRequest('/projects', { jar, form }), params: {}, context: ctx }))
}

/** A project with one stored, processed-looking photo, as the upload and the job leave it. */
async function projectWithPhoto(userId: string) {
	const project = await privileged().project.create({ data: { userId, name: 'Villa', address: '3 chemin des Pins, Biarritz' } })
	const photo = await privileged().photo.create({
		data: {
			userId,
			projectId: project.id,
			status: 'ready',
			originalKey: 'pending',
			originalFilename: 'façade.jpg',
			contentType: 'image/jpeg',
			sizeBytes: 10,
			width: 40,
			height: 30,
		},
	})
	const originalKey = storageKeys.original(userId, project.id, photo.id, 'jpg')
	const jpeg = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c96' } })
		.jpeg()
		.toBuffer()
	await getStorage().put(originalKey, jpeg, { contentType: 'image/jpeg' })
	const thumbKey = storageKeys.variant(userId, project.id, photo.id, 'thumbnail')
	await getStorage().put(thumbKey, await sharp(jpeg).webp().toBuffer(), { contentType: 'image/webp' })
	await privileged().photo.update({ where: { id: photo.id }, data: { originalKey } })
	await privileged().photoVariant.create({
		data: { userId, photoId: photo.id, kind: 'thumbnail', key: thumbKey, contentType: 'image/webp', width: 40, height: 30, sizeBytes: 100 },
	})
	await privileged().project.update({ where: { id: project.id }, data: { coverPhotoId: photo.id } })
	return { project, photo, originalKey, thumbKey }
}

async function keysOf(userId: string) {
	const keys = []
	for await (const object of getStorage().list(`${userId}/`)) keys.push(object.key)
	return keys
}

describe('projects', () => {
	test('create: the name is required and limited; optional fields become null; then it is listed', async () => {
		const me = await loggedInUser()
		const empty = await createProject(me.jar, { name: '   ', address: 'x'.repeat(301) })
		expect(empty.status).toBe(400)
		expect(empty.data).toEqual({ errors: { name: 'projects.error.nameRequired', address: 'projects.error.addressTooLong' } })
		expect(await privileged().project.count({ where: { userId: me.id } })).toBe(0)

		const created = await createProject(me.jar, { name: "  L'Orangerie — T4  ", address: '', reference: "REF-42'; DROP TABLE projects;--" })
		expect(created.status).toBe(302)
		const project = await privileged().project.findFirstOrThrow({ where: { userId: me.id } })
		expect(project).toMatchObject({ name: "L'Orangerie — T4", address: null, reference: "REF-42'; DROP TABLE projects;--" })
		expect(created.response!.headers.get('Location')).toBe(`/projects/${project.id}`)

		const list = await call(() => listLoader({ request: makeRequest('/projects', { jar: me.jar }), params: {}, context: ctx }))
		expect((list.data as { projects: { id: string; creditsUsed: number }[] }).projects).toMatchObject([{ id: project.id, creditsUsed: 0 }])
	})

	test('another user’s project and photos are 404 on every route, read or write', async () => {
		const owner = await loggedInUser()
		const other = await loggedInUser()
		const { project, photo } = await projectWithPhoto(owner.id)
		const asOther = (path: string, form?: Record<string, string>) => makeRequest(path, { jar: other.jar, form })
		const p = { projectId: project.id }
		const q = { projectId: project.id, photoId: photo.id }
		for (const outcome of [
			await call(() => projectLoader({ request: asOther(`/projects/${project.id}`), params: p, context: ctx })),
			await call(() =>
				projectAction({ request: asOther(`/projects/${project.id}`, { intent: 'update', name: 'pris' }), params: p, context: ctx }),
			),
			await call(() => projectAction({ request: asOther(`/projects/${project.id}`, { intent: 'archive' }), params: p, context: ctx })),
			await call(() =>
				projectAction({ request: asOther(`/projects/${project.id}`, { intent: 'delete', confirm: 'yes' }), params: p, context: ctx }),
			),
			await call(() => photoLoader({ request: asOther(`/projects/${project.id}/photos/${photo.id}`), params: q, context: ctx })),
			await call(() =>
				photoAction({
					request: asOther(`/projects/${project.id}/photos/${photo.id}`, { intent: 'delete', confirm: 'yes' }),
					params: q,
					context: ctx,
				}),
			),
			// Their own project id with the victim's photo id: still nothing.
			await call(() => photoLoader({ request: asOther('/'), params: { projectId: project.id, photoId: photo.id }, context: ctx })),
		])
			expect(outcome.status).toBe(404)
		const after = await privileged().project.findUniqueOrThrow({ where: { id: project.id } })
		expect(after).toMatchObject({ name: 'Villa', status: 'active', deletedAt: null })
		expect(await privileged().photo.count({ where: { id: photo.id } })).toBe(1)
		// Nonsense ids are 404 too, not 500.
		expect(
			(await call(() => projectLoader({ request: asOther('/projects/x'), params: { projectId: "1' OR '1'='1" }, context: ctx }))).status,
		).toBe(404)
	})

	test('the project page lists photos with signed thumbnail URLs; the photo page gives preview and download links', async () => {
		const me = await loggedInUser()
		const { project, photo } = await projectWithPhoto(me.id)
		const page = await call(() =>
			projectLoader({ request: makeRequest(`/projects/${project.id}`, { jar: me.jar }), params: { projectId: project.id }, context: ctx }),
		)
		const photos = (page.data as { photos: { id: string; thumbnail: { url: string } | null }[] }).photos
		expect(photos).toHaveLength(1)
		expect(photos[0]!.thumbnail!.url).toMatch(/^\/resources\/files\/.+\?.*sig=/)
		const detail = await call(() =>
			photoLoader({ request: makeRequest('/', { jar: me.jar }), params: { projectId: project.id, photoId: photo.id }, context: ctx }),
		)
		expect((detail.data as { photo: { downloadUrl: string } }).photo.downloadUrl).toMatch(/^\/resources\/files\/.+dl=/)
	})

	test('archive and restore', async () => {
		const me = await loggedInUser()
		const { project } = await projectWithPhoto(me.id)
		const archive = await call(() =>
			projectAction({
				request: makeRequest(`/projects/${project.id}`, { jar: me.jar, form: { intent: 'archive' } }),
				params: { projectId: project.id },
				context: ctx,
			}),
		)
		expect(archive.status).toBe(302)
		expect((await privileged().project.findUniqueOrThrow({ where: { id: project.id } })).status).toBe('archived')
		const active = await call(() => listLoader({ request: makeRequest('/projects', { jar: me.jar }), params: {}, context: ctx }))
		expect((active.data as { projects: unknown[] }).projects).toHaveLength(0)
		const archived = await call(() =>
			listLoader({ request: makeRequest('/projects?archived=1', { jar: me.jar }), params: {}, context: ctx }),
		)
		expect((archived.data as { projects: unknown[] }).projects).toHaveLength(1)
		await call(() =>
			projectAction({
				request: makeRequest(`/projects/${project.id}`, { jar: me.jar, form: { intent: 'unarchive' } }),
				params: { projectId: project.id },
				context: ctx,
			}),
		)
		expect((await privileged().project.findUniqueOrThrow({ where: { id: project.id } })).status).toBe('active')
	})

	test('delete: hidden at once, then the job removes rows and files, gives unfinished credits back, and is idempotent', async () => {
		const me = await loggedInUser()
		const { project, photo } = await projectWithPhoto(me.id)
		await grant(privileged(), { userId: me.id, credits: 3, reason: 'admin_adjustment', idempotencyKey: `t:${me.id}` })
		const transformation = await privileged().transformation.create({
			data: {
				userId: me.id,
				projectId: project.id,
				photoId: photo.id,
				batchId: crypto.randomUUID(),
				kind: 'enhancement',
				creditsCost: 2,
				provider: 'local',
			},
		})
		await withUser(me.id, (tx) => reserve(tx, { userId: me.id, credits: 2, reference: `transformation:${transformation.id}` }))
		expect((await privileged().user.findUniqueOrThrow({ where: { id: me.id } })).creditBalance).toBe(6)
		const other = await loggedInUser()
		const theirs = await projectWithPhoto(other.id)

		const noConfirm = await call(() =>
			projectAction({
				request: makeRequest(`/projects/${project.id}`, { jar: me.jar, form: { intent: 'delete' } }),
				params: { projectId: project.id },
				context: ctx,
			}),
		)
		expect(noConfirm.status).toBe(400)
		const deleted = await call(() =>
			projectAction({
				request: makeRequest(`/projects/${project.id}`, { jar: me.jar, form: { intent: 'delete', confirm: 'yes' } }),
				params: { projectId: project.id },
				context: ctx,
			}),
		)
		expect(deleted.response!.headers.get('Location')).toBe('/projects')
		expect(
			(await call(() => projectLoader({ request: makeRequest('/', { jar: me.jar }), params: { projectId: project.id }, context: ctx })))
				.status,
		).toBe(404)
		const [job] = await privileged().$queryRaw<
			{ data: { projectId: string } }[]
		>`SELECT data FROM pgboss.job WHERE name = 'project-delete' ORDER BY created_on DESC LIMIT 1`
		expect(job!.data.projectId).toBe(project.id)

		await deleteProject({ projectId: project.id, userId: me.id })
		await deleteProject({ projectId: project.id, userId: me.id })
		expect(await privileged().project.count({ where: { id: project.id } })).toBe(0)
		expect(await privileged().photo.count({ where: { userId: me.id } })).toBe(0)
		expect(await keysOf(me.id)).toEqual([])
		expect((await privileged().user.findUniqueOrThrow({ where: { id: me.id } })).creditBalance).toBe(8)
		// The other user's files and rows are untouched.
		expect((await keysOf(other.id)).sort()).toEqual([theirs.originalKey, theirs.thumbKey].sort())
		expect(await privileged().photo.count({ where: { userId: other.id } })).toBe(1)
	})

	test('deleting a photo removes its files and rows, and clears the cover', async () => {
		const me = await loggedInUser()
		const { project, photo } = await projectWithPhoto(me.id)
		const outcome = await call(() =>
			photoAction({
				request: makeRequest('/', { jar: me.jar, form: { intent: 'delete', confirm: 'yes' } }),
				params: { projectId: project.id, photoId: photo.id },
				context: ctx,
			}),
		)
		expect(outcome.status).toBe(302)
		expect(await keysOf(me.id)).toEqual([])
		expect(await privileged().photoVariant.count({ where: { photoId: photo.id } })).toBe(0)
		expect((await privileged().project.findUniqueOrThrow({ where: { id: project.id } })).coverPhotoId).toBeNull()
	})
})
