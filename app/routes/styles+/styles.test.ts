import sharp from 'sharp'
import { beforeAll, describe, expect, test } from 'vitest'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { deleteStyle, updateStyle } from '#app/modules/styles/styles.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { call, type CookieJar, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { action, loader } from './index.tsx'

const ctx = { nonce: '', csrfToken: '' }
type File = { name: string; data: Uint8Array; type?: string }
type Listed = { id: string; name: string; prompt: string; example: { url: string } | null }

let jpegWithExif: Buffer

beforeAll(async () => {
	// 1200 × 900 stored, EXIF orientation 6 (upright: 900 × 1200), camera and GPS-like metadata.
	jpegWithExif = await sharp({ create: { width: 1200, height: 900, channels: 3, background: { r: 200, g: 170, b: 120 } } })
		.jpeg()
		.withMetadata({ orientation: 6 })
		.withExif({ IFD0: { Make: 'Renzo Test Cam', Model: 'X1', Copyright: 'Agence Exemple' } })
		.toBuffer()
})

/** A POST as a browser sends the create/edit form (multipart, optional example file). */
function multipart(path: string, jar: CookieJar, fields: Record<string, string>, file?: File) {
	const form = new FormData()
	for (const [name, value] of Object.entries(fields)) form.append(name, value)
	if (file) form.append('example', new Blob([file.data as BlobPart], { type: file.type ?? 'image/jpeg' }), file.name)
	return new Request(new URL(path, 'http://localhost:3000'), {
		method: 'POST',
		body: form,
		headers: { Cookie: jar.header(), 'x-renzo-client-ip': '127.0.0.1' },
	})
}

const post = (request: Request) => call(() => action({ request, params: {}, context: ctx }))
const create = (jar: CookieJar, fields: Record<string, string>, file?: File) =>
	post(multipart('/styles?index&csrf=t', jar, { intent: 'create', ...fields }, file))
const update = (jar: CookieJar, styleId: string, fields: Record<string, string>, file?: File) =>
	post(multipart(`/styles?index&style=${styleId}&csrf=t`, jar, { intent: 'update', ...fields }, file))
const remove = (jar: CookieJar, styleId: string, form: Record<string, string> = { intent: 'delete', confirm: 'yes' }) =>
	post(makeRequest(`/styles?index&style=${styleId}`, { jar, form }))

async function list(jar: CookieJar) {
	const page = await call(() => loader({ request: makeRequest('/styles', { jar }), params: {}, context: ctx }))
	return (page.data as { styles: Listed[] }).styles
}

async function keysOf(userId: string) {
	const keys = []
	for await (const object of getStorage().list(`${userId}/`)) keys.push(object.key)
	return keys
}

async function stored(key: string) {
	const object = await getStorage().get(key)
	if (!object) return null
	const chunks: Buffer[] = []
	for await (const chunk of object.body) chunks.push(chunk as Buffer)
	return { contentType: object.contentType, bytes: Buffer.concat(chunks) }
}

const prompt = 'Salon scandinave clair, bois blond, lin beige, plantes vertes.'

describe('custom styles', () => {
	test('create, list, edit, then delete with confirmation; past transformations keep their result', async () => {
		const me = await loggedInUser()
		expect(await list(me.jar)).toEqual([])

		const created = await create(me.jar, { name: '  Scandinave  ', prompt: `  ${prompt}\r\nSans tapis.  ` })
		expect(created.status).toBe(302)
		expect(created.response!.headers.get('Location')).toBe('/styles')
		expect(created.response!.headers.get('Set-Cookie')).toContain('__toast=')
		const style = await privileged().customStyle.findFirstOrThrow({ where: { userId: me.id } })
		expect(style).toMatchObject({ name: 'Scandinave', prompt: `${prompt}\nSans tapis.`, exampleKey: null })
		expect(await list(me.jar)).toMatchObject([{ id: style.id, name: 'Scandinave', example: null }])

		const edited = await update(me.jar, style.id, { name: 'Scandinave chaleureux', prompt: 'Bois clair, laine, lumière douce.' })
		expect(edited.status).toBe(302)
		expect(await privileged().customStyle.findUniqueOrThrow({ where: { id: style.id } })).toMatchObject({
			name: 'Scandinave chaleureux',
			prompt: 'Bois clair, laine, lumière douce.',
		})
		const page = await call(() => loader({ request: makeRequest(`/styles?style=${style.id}`, { jar: me.jar }), params: {}, context: ctx }))
		expect(page.data).toMatchObject({ selected: { id: style.id, name: 'Scandinave chaleureux' } })

		// A transformation ordered with the style.
		const project = await privileged().project.create({ data: { userId: me.id, name: 'Villa' } })
		const photo = await privileged().photo.create({
			data: {
				userId: me.id,
				projectId: project.id,
				status: 'ready',
				originalKey: `${me.id}/originals/${project.id}/p.jpg`,
				originalFilename: 'salon.jpg',
				contentType: 'image/jpeg',
				sizeBytes: 10,
			},
		})
		const transformation = await privileged().transformation.create({
			data: {
				userId: me.id,
				projectId: project.id,
				photoId: photo.id,
				batchId: crypto.randomUUID(),
				kind: 'virtual_staging',
				customStyleId: style.id,
				creditsCost: 2,
				provider: 'local',
				status: 'succeeded',
			},
		})

		const unconfirmed = await remove(me.jar, style.id, { intent: 'delete' })
		expect(unconfirmed).toMatchObject({ status: 400, data: { confirm: true } })
		expect(await privileged().customStyle.count({ where: { id: style.id } })).toBe(1)
		const deleted = await remove(me.jar, style.id)
		expect(deleted.status).toBe(302)
		expect(deleted.response!.headers.get('Location')).toBe('/styles')
		expect(await privileged().customStyle.count({ where: { id: style.id } })).toBe(0)
		expect(await privileged().transformation.findUniqueOrThrow({ where: { id: transformation.id } })).toMatchObject({
			status: 'succeeded',
			customStyleId: null,
		})
		expect(await list(me.jar)).toEqual([])
	})

	test('a name is unique per user (create and rename), not across users', async () => {
		const me = await loggedInUser()
		expect((await create(me.jar, { name: 'Haussmannien', prompt })).status).toBe(302)
		const twice = await create(me.jar, { name: ' Haussmannien ', prompt })
		expect(twice).toMatchObject({ status: 400, data: { errors: { name: 'styles.error.nameTaken' }, values: { name: ' Haussmannien ' } } })
		expect(await privileged().customStyle.count({ where: { userId: me.id } })).toBe(1)

		expect((await create(me.jar, { name: 'Industriel', prompt })).status).toBe(302)
		const other = await privileged().customStyle.findFirstOrThrow({ where: { userId: me.id, name: 'Industriel' } })
		const renamed = await update(me.jar, other.id, { name: 'Haussmannien', prompt })
		expect(renamed).toMatchObject({ status: 400, data: { errors: { name: 'styles.error.nameTaken' } } })
		expect((await privileged().customStyle.findUniqueOrThrow({ where: { id: other.id } })).name).toBe('Industriel')
		// Keeping its own name is not a conflict.
		expect((await update(me.jar, other.id, { name: 'Industriel', prompt: 'Béton ciré, métal noir, cuir.' })).status).toBe(302)

		const colleague = await loggedInUser()
		expect((await create(colleague.jar, { name: 'Haussmannien', prompt })).status).toBe(302)
	})

	test.each([
		['an empty name', { name: '   ', prompt }, { name: 'styles.error.nameRequired' }],
		['a 61-character name', { name: 'n'.repeat(61), prompt }, { name: 'styles.error.nameTooLong' }],
		['a name with a control character', { name: 'Chic\u0007', prompt }, { name: 'styles.error.nameInvalid' }],
		['a name with a newline', { name: 'Chic\nmoderne', prompt }, { name: 'styles.error.nameInvalid' }],
		['a short prompt', { name: 'Chic', prompt: '  Beige   ' }, { prompt: 'styles.error.promptTooShort' }],
		['a 501-character prompt', { name: 'Chic', prompt: 'p'.repeat(501) }, { prompt: 'styles.error.promptTooLong' }],
		['a huge prompt (truncated by the parser)', { name: 'Chic', prompt: 'p'.repeat(20_000) }, { prompt: 'styles.error.promptTooLong' }],
		['a prompt with a control character', { name: 'Chic', prompt: `${prompt}\u0000` }, { prompt: 'styles.error.promptInvalid' }],
		['no field at all', {}, { name: 'styles.error.nameRequired', prompt: 'styles.error.promptTooShort' }],
	])('%s is refused next to the field, nothing is created', async (_label, fields, errors) => {
		const me = await loggedInUser()
		const outcome = await create(me.jar, fields, { name: 'exemple.jpg', data: jpegWithExif })
		expect(outcome.status).toBe(400)
		expect((outcome.data as { errors: unknown }).errors).toEqual(errors)
		expect(await privileged().customStyle.count({ where: { userId: me.id } })).toBe(0)
		expect(await keysOf(me.id)).toEqual([])
	})

	test('an invalid edit changes nothing', async () => {
		const me = await loggedInUser()
		await create(me.jar, { name: 'Bohème', prompt })
		const style = await privileged().customStyle.findFirstOrThrow({ where: { userId: me.id } })
		const outcome = await update(me.jar, style.id, { name: 'Bohème', prompt: 'court' })
		expect(outcome).toMatchObject({ status: 400, data: { errors: { prompt: 'styles.error.promptTooShort' } } })
		expect((await privileged().customStyle.findUniqueOrThrow({ where: { id: style.id } })).prompt).toBe(prompt)
	})

	test('a JPEG example is stored as an upright ≤ 1024 px WebP without EXIF, shown by a signed URL, replaced, then removed', async () => {
		const me = await loggedInUser()
		expect((await create(me.jar, { name: 'Loft', prompt }, { name: 'loft.jpg', data: jpegWithExif })).status).toBe(302)
		const style = await privileged().customStyle.findFirstOrThrow({ where: { userId: me.id } })
		const key = storageKeys.styleExample(me.id, style.id, 'webp')
		expect(style.exampleKey).toBe(key)
		expect(await keysOf(me.id)).toEqual([key])
		const object = await stored(key)
		expect(object!.contentType).toBe('image/webp')
		const meta = await sharp(object!.bytes).metadata()
		expect(meta).toMatchObject({ format: 'webp', width: 768, height: 1024 })
		expect(meta.exif).toBeUndefined()
		expect(meta.xmp).toBeUndefined()
		expect(meta.orientation).toBeUndefined()
		expect(object!.bytes.includes(Buffer.from('Renzo Test Cam'))).toBe(false)
		const [listed] = await list(me.jar)
		expect(listed!.example!.url).toMatch(/^\/resources\/files\/.+\?.*sig=/)

		// Replaced by a PNG (same key), then removed.
		const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#369' } })
			.png()
			.toBuffer()
		expect((await update(me.jar, style.id, { name: 'Loft', prompt }, { name: 'loft.png', data: png, type: 'image/png' })).status).toBe(302)
		expect(await sharp((await stored(key))!.bytes).metadata()).toMatchObject({ format: 'webp', width: 300, height: 200 })
		// An empty file input (nothing chosen) keeps the example.
		expect((await update(me.jar, style.id, { name: 'Loft', prompt }, { name: '', data: new Uint8Array() })).status).toBe(302)
		expect(await keysOf(me.id)).toEqual([key])
		expect((await update(me.jar, style.id, { name: 'Loft', prompt, removeExample: 'yes' })).status).toBe(302)
		expect((await privileged().customStyle.findUniqueOrThrow({ where: { id: style.id } })).exampleKey).toBeNull()
		expect(await keysOf(me.id)).toEqual([])
	})

	test.each([
		[
			'a text file named .jpg',
			{ name: 'notes.jpg', data: Buffer.from('Ceci est un texte, pas une photo.\n'.repeat(20)) },
			'styles.error.exampleUnsupported',
		],
		[
			'an SVG',
			{ name: 'logo.svg', data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), type: 'image/svg+xml' },
			'styles.error.exampleUnsupported',
		],
		['an empty file', { name: 'vide.jpg', data: new Uint8Array() }, 'styles.error.exampleEmpty'],
		['a file over 10 MB', { name: 'énorme.jpg', data: overTenMegabytes() }, 'styles.error.exampleTooLarge'],
	])('%s is refused with a clear message and leaves no row and no object', async (_label, file, error) => {
		const me = await loggedInUser()
		const outcome = await create(me.jar, { name: 'Chic', prompt }, file)
		expect(outcome).toMatchObject({ status: 400, data: { errors: { example: error } } })
		expect(await privileged().customStyle.count({ where: { userId: me.id } })).toBe(0)
		expect(await keysOf(me.id)).toEqual([])
	})

	test('a truncated JPEG is refused as damaged, and a refused replacement keeps the old example', async () => {
		const me = await loggedInUser()
		const truncated = { name: 'coupée.jpg', data: jpegWithExif.subarray(0, Math.floor(jpegWithExif.length / 2)) }
		expect(await create(me.jar, { name: 'Chic', prompt }, truncated)).toMatchObject({
			status: 400,
			data: { errors: { example: 'styles.error.exampleCorrupt' } },
		})
		await create(me.jar, { name: 'Chic', prompt }, { name: 'ok.jpg', data: jpegWithExif })
		const style = await privileged().customStyle.findFirstOrThrow({ where: { userId: me.id } })
		const before = (await stored(style.exampleKey!))!.bytes
		expect(
			(await update(me.jar, style.id, { name: 'Chic 2', prompt }, { name: 'faux.jpg', data: Buffer.from('pas une image') })).status,
		).toBe(400)
		expect((await stored(style.exampleKey!))!.bytes.equals(before)).toBe(true)
		expect((await privileged().customStyle.findUniqueOrThrow({ where: { id: style.id } })).name).toBe('Chic')
	})

	test('another user’s style is 404 on every action, never listed, and left as it was', async () => {
		const owner = await loggedInUser()
		await create(owner.jar, { name: 'Privé', prompt }, { name: 'p.jpg', data: jpegWithExif })
		const style = await privileged().customStyle.findFirstOrThrow({ where: { userId: owner.id } })
		const before = (await stored(style.exampleKey!))!.bytes
		const intruder = await loggedInUser()
		await create(intruder.jar, { name: 'À moi', prompt })

		for (const outcome of [
			await call(() => loader({ request: makeRequest(`/styles?style=${style.id}`, { jar: intruder.jar }), params: {}, context: ctx })),
			await update(intruder.jar, style.id, { name: 'Volé', prompt }, { name: 'x.jpg', data: jpegWithExif }),
			await update(intruder.jar, style.id, { name: 'Volé', prompt, removeExample: 'yes' }),
			await post(makeRequest(`/styles?index&style=${style.id}`, { jar: intruder.jar, form: { intent: 'update', name: 'Volé', prompt } })),
			await remove(intruder.jar, style.id),
			await remove(intruder.jar, style.id, { intent: 'delete' }),
			await post(multipart(`/styles?index&style=${style.id}&csrf=t`, intruder.jar, { intent: 'create', name: 'x', prompt })),
			// Nonsense ids are 404 too, not 500.
			await call(() => loader({ request: makeRequest("/styles?style=1' OR '1'='1", { jar: intruder.jar }), params: {}, context: ctx })),
			await remove(intruder.jar, 'nope'),
		])
			expect(outcome.status).toBe(404)
		expect((await list(intruder.jar)).map((s) => s.name)).toEqual(['À moi'])
		// The module refuses too, whatever the route does.
		expect(await updateStyle(intruder.id, style.id, { fields: { name: 'Volé', prompt }, example: null })).toBeNull()
		expect(await deleteStyle(intruder.id, style.id)).toBe(false)

		expect(await privileged().customStyle.findUniqueOrThrow({ where: { id: style.id } })).toMatchObject({ name: 'Privé', prompt })
		expect((await stored(style.exampleKey!))!.bytes.equals(before)).toBe(true)
		expect(await keysOf(intruder.id)).toEqual([])
	})

	test('deleting a style removes its example object, and only its own', async () => {
		const me = await loggedInUser()
		await create(me.jar, { name: 'Un', prompt }, { name: 'a.jpg', data: jpegWithExif })
		await create(me.jar, { name: 'Deux', prompt }, { name: 'b.jpg', data: jpegWithExif })
		const [one, two] = await privileged().customStyle.findMany({ where: { userId: me.id }, orderBy: { name: 'desc' } })
		expect((await keysOf(me.id)).sort()).toEqual([one!.exampleKey, two!.exampleKey].sort())
		expect((await remove(me.jar, one!.id)).status).toBe(302)
		expect(await keysOf(me.id)).toEqual([two!.exampleKey])
		expect((await list(me.jar)).map((s) => s.name)).toEqual(['Deux'])
	})

	test('the page requires a login', async () => {
		const anonymous = await call(() => loader({ request: makeRequest('/styles'), params: {}, context: ctx }))
		expect(anonymous.response?.headers.get('Location')).toBe('/login?redirectTo=%2Fstyles')
	})
})

/** 10 MB + 1 byte that start like a JPEG. */
function overTenMegabytes() {
	const bytes = Buffer.alloc(10 * 1024 * 1024 + 1, 0x41)
	bytes.set([0xff, 0xd8, 0xff, 0xe0])
	return bytes
}
