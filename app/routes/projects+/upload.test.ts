import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, test } from 'vitest'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import type { CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { processPhoto } from '#app/modules/photos/process.server.ts'
import { loader as projectLoader } from './$projectId.tsx'
import { action as uploadAction } from './$projectId_.upload.ts'

type FileResult = { name: string; ok: boolean; photoId?: string; message?: string }
type Part = { name: string; data: Uint8Array; type?: string }

let jpeg: Buffer
let png: Buffer
let webp: Buffer

beforeAll(async () => {
	const base = sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 180, g: 140, b: 90 } } })
	jpeg = await base.clone().jpeg().toBuffer()
	png = await base.clone().png().toBuffer()
	webp = await base.clone().webp().toBuffer()
})

async function newProject() {
	const user = await loggedInUser()
	const project = await privileged().project.create({ data: { userId: user.id, name: 'Maison de ville' }, select: { id: true } })
	return { user, projectId: project.id }
}

function multipart(url: string, parts: Part[], jar: CookieJar, init: { signal?: AbortSignal } = {}) {
	const form = new FormData()
	for (const part of parts)
		form.append('photo', new Blob([part.data as BlobPart], { type: part.type ?? 'application/octet-stream' }), part.name)
	return new Request(new URL(url, 'http://localhost:3000'), {
		method: 'POST',
		body: form,
		headers: { Cookie: jar.header(), Accept: 'application/json', 'x-renzo-client-ip': '127.0.0.1' },
		signal: init.signal,
	})
}

async function upload(projectId: string, jar: CookieJar, parts: Part[]) {
	const response = (await uploadAction({
		request: multipart(`/projects/${projectId}/upload`, parts, jar),
		params: { projectId },
		context: {} as never,
	})) as Response
	return { status: response.status, files: ((await response.json()) as { files: FileResult[] }).files }
}

/** Nothing of the user left behind: no photo row, no stored object, no temp file. */
async function expectNothingLeft(userId: string) {
	expect(await privileged().photo.count({ where: { userId } })).toBe(0)
	const objects = []
	for await (const object of getStorage().list(`${userId}/`)) objects.push(object.key)
	expect(objects).toEqual([])
	expect(leftoverTempFiles()).toEqual([])
}

function leftoverTempFiles(): string[] {
	const root = process.env.STORAGE_DIR!
	if (!fs.existsSync(root)) return []
	return fs
		.readdirSync(root, { recursive: true, withFileTypes: true })
		.filter(
			(entry) => entry.isFile() && /(^|\/)\.tmp(\/|$)|\.tmp$|\.part$/.test(path.join(path.relative(root, entry.parentPath), entry.name)),
		)
		.map((entry) => entry.name)
}

describe('photo upload', () => {
	test('JPEG, PNG and WebP in one request are stored, queued for processing, and a second copy is flagged', async () => {
		const { user, projectId } = await newProject()
		const { status, files } = await upload(projectId, user.jar, [
			{ name: 'salon.jpg', data: jpeg },
			{ name: 'cuisine.png', data: png },
			{ name: 'chambre.webp', data: webp },
		])
		expect(status).toBe(200)
		expect(files.map((f) => [f.name, f.ok])).toEqual([
			['salon.jpg', true],
			['cuisine.png', true],
			['chambre.webp', true],
		])
		const photos = await privileged().photo.findMany({ where: { userId: user.id }, orderBy: { originalFilename: 'asc' } })
		expect(photos.map((p) => [p.originalFilename, p.status, p.contentType])).toEqual([
			['chambre.webp', 'processing', 'image/webp'],
			['cuisine.png', 'processing', 'image/png'],
			['salon.jpg', 'processing', 'image/jpeg'],
		])
		for (const photo of photos) {
			expect(await getStorage().exists(photo.originalKey)).toBe(true)
			expect(photo.originalKey.startsWith(`${user.id}/originals/${projectId}/`)).toBe(true)
		}
		const jobs = await privileged().$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pgboss.job WHERE name = 'photo-process'`
		expect(Number(jobs[0]!.n)).toBeGreaterThanOrEqual(3)

		const again = await upload(projectId, user.jar, [{ name: 'salon (copie).jpg', data: jpeg }])
		// The same bytes again: accepted; the photo-process job flags it as the first one's twin and
		// the project page says so on its tile.
		expect(again.files[0]).toMatchObject({ ok: true })
		expect(again.files[0]).not.toHaveProperty('duplicate')
		const first = files[0]!.photoId!
		const twin = again.files[0]!.photoId!
		await processPhoto(first)
		await processPhoto(twin)
		const { photos: listed } = await projectLoader({
			request: new Request(`http://localhost:3000/projects/${projectId}`, { headers: { Cookie: user.jar.header() } }),
			params: { projectId },
			context: {} as never,
		})
		expect(listed.find((p) => p.id === twin)?.duplicateOfId).toBe(first)
		expect(listed.find((p) => p.id === first)?.duplicateOfId).toBeNull()
	})

	test.each([
		['an empty file', { name: 'vide.jpg', data: new Uint8Array() }, 'est vide'],
		[
			'a text file named .jpg',
			{ name: 'notes.jpg', data: Buffer.from('Ceci est un texte, pas une photo.\n'.repeat(20)) },
			'n’est pas une photo',
		],
		[
			'random bytes',
			{ name: 'bruit.png', data: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)) },
			'n’est pas une photo',
		],
		[
			'an SVG with a script',
			{
				name: 'logo.svg',
				data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
				type: 'image/svg+xml',
			},
			'n’est pas une photo',
		],
		['a wrong Content-Type', { name: 'photo.jpg', data: Buffer.from('GIF89a....'), type: 'image/jpeg' }, 'n’est pas une photo'],
	])('%s is refused with a French message and leaves nothing', async (_label, part, message) => {
		const { user, projectId } = await newProject()
		const { status, files } = await upload(projectId, user.jar, [part])
		expect(status).toBe(422)
		expect(files[0]!.ok).toBe(false)
		expect(files[0]!.message).toContain(message)
		await expectNothingLeft(user.id)
	})

	test('a truncated JPEG is refused as incomplete and leaves nothing', async () => {
		const { user, projectId } = await newProject()
		const { files } = await upload(projectId, user.jar, [{ name: 'coupée.jpg', data: jpeg.subarray(0, Math.floor(jpeg.length / 2)) }])
		expect(files[0]).toMatchObject({ ok: false, message: '« coupée.jpg » est incomplète ou endommagée.' })
		await expectNothingLeft(user.id)
	})

	test('a PNG declaring 50,000 × 50,000 pixels is refused from its header and leaves nothing', async () => {
		const { user, projectId } = await newProject()
		const bomb = Buffer.from(png)
		// Rewrite the IHDR width/height (and its CRC) of a real PNG.
		bomb.writeUInt32BE(50_000, 16)
		bomb.writeUInt32BE(50_000, 20)
		bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29)
		const { files } = await upload(projectId, user.jar, [{ name: 'bombe.png', data: bomb }])
		expect(files[0]!.ok).toBe(false)
		expect(files[0]!.message).toContain('trop de pixels')
		await expectNothingLeft(user.id)
	})

	test('a file over the size limit is refused while streaming and the other files of the batch still succeed', async () => {
		const { user, projectId } = await newProject()
		const huge = Buffer.alloc(60 * 1024 * 1024, 0x41)
		jpeg.copy(huge, 0, 0, 64)
		const { files } = await upload(projectId, user.jar, [
			{ name: 'avant.jpg', data: jpeg },
			{ name: 'énorme.jpg', data: huge },
			{ name: 'après.png', data: png },
		])
		expect(files.map((f) => f.ok)).toEqual([true, false, true])
		expect(files[1]!.message).toBe('« énorme.jpg » dépasse 50 Mo.')
		const photos = await privileged().photo.findMany({ where: { userId: user.id }, select: { originalFilename: true } })
		expect(photos.map((p) => p.originalFilename).sort()).toEqual(['après.png', 'avant.jpg'])
		expect(leftoverTempFiles()).toEqual([])
	})

	test('a file name with ../, a newline, accents and 300 characters is stored safely', async () => {
		const { user, projectId } = await newProject()
		const name = `../../etc/passwd\nChâteau — séjour ${'é'.repeat(300)}.jpg`
		const { files } = await upload(projectId, user.jar, [{ name, data: jpeg }])
		expect(files[0]!.ok).toBe(true)
		const photo = await privileged().photo.findFirstOrThrow({ where: { userId: user.id } })
		expect(photo.originalFilename).not.toMatch(/[\\/\n]/)
		expect(photo.originalFilename.length).toBeLessThanOrEqual(200)
		// (FormData sends the newline as %0A, as browsers do; either way no path survives.)
		expect(photo.originalFilename).toMatch(/^passwd(%0A| )Château — séjour é+\.jpg$/)
		expect(photo.originalFilename.endsWith('.jpg')).toBe(true)
		expect(photo.originalKey).toMatch(new RegExp(`^${user.id}/originals/${projectId}/[0-9a-f-]{36}\\.jpg$`))
	})

	test('the storage quota is enforced while streaming: the file that does not fit is refused, nothing of it stays', async () => {
		const { user, projectId } = await newProject()
		// Already near the quota (20 GiB by default): an earlier photo of ~20 GiB minus 1 KiB.
		await privileged().photo.create({
			data: {
				userId: user.id,
				projectId,
				status: 'ready',
				originalKey: `${user.id}/originals/${projectId}/big.jpg`,
				originalFilename: 'big.jpg',
				contentType: 'image/jpeg',
				sizeBytes: BigInt(20 * 1024 ** 3 - 1024),
			},
		})
		const { files } = await upload(projectId, user.jar, [{ name: 'de trop.jpg', data: jpeg }])
		expect(files[0]).toMatchObject({ ok: false, message: 'Votre espace de stockage est plein : « de trop.jpg » n’a pas été enregistrée.' })
		expect(await privileged().photo.count({ where: { userId: user.id } })).toBe(1)
		expect(leftoverTempFiles()).toEqual([])
		const objects = []
		for await (const object of getStorage().list(`${user.id}/`)) objects.push(object.key)
		expect(objects).toEqual([])
	})

	test('without JavaScript, the plain form is redirected back to the project with a French message', async () => {
		const { user, projectId } = await newProject()
		const form = new FormData()
		form.append('photo', new Blob([jpeg as BlobPart], { type: 'image/jpeg' }), 'salon.jpg')
		const ok = (await uploadAction({
			request: new Request(new URL(`/projects/${projectId}/upload`, 'http://localhost:3000'), {
				method: 'POST',
				body: form,
				headers: { Cookie: user.jar.header() },
			}),
			params: { projectId },
			context: {} as never,
		})) as Response
		expect(ok.status).toBe(302)
		expect(ok.headers.get('Location')).toBe(`/projects/${projectId}`)
		expect(ok.headers.get('Set-Cookie')).toContain('__toast=')
		const bad = new FormData()
		bad.append('photo', new Blob(['pas une image'], { type: 'image/jpeg' }), 'faux.jpg')
		const refused = (await uploadAction({
			request: new Request(new URL(`/projects/${projectId}/upload`, 'http://localhost:3000'), {
				method: 'POST',
				body: bad,
				headers: { Cookie: user.jar.header() },
			}),
			params: { projectId },
			context: {} as never,
		})) as Response
		expect(refused.status).toBe(302)
		expect(await privileged().photo.count({ where: { userId: user.id } })).toBe(1)
	})

	test("an upload into another user's project is a 404 and writes nothing: an image, a file refused before its row, no file", async () => {
		const owner = await newProject()
		const intruder = await loggedInUser()
		const attempts = [[{ name: 'intrus.jpg', data: jpeg }], [{ name: 'intrus.jpg', data: Buffer.from('pas une image') }], []]
		for (const files of attempts) {
			const outcome = await uploadAction({
				request: multipart(`/projects/${owner.projectId}/upload`, files, intruder.jar),
				params: { projectId: owner.projectId },
				context: {} as never,
			}).catch((thrown: unknown) => thrown)
			expect((outcome as Response).status).toBe(404)
		}
		await expectNothingLeft(intruder.id)
		await expectNothingLeft(owner.user.id)
	})

	test('a client that disconnects halfway through a 50 MB upload leaves nothing', async () => {
		const { user, projectId } = await newProject()
		const boundary = '----renzo-test-boundary'
		const head = Buffer.from(
			`--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="grosse.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
		)
		const chunk = Buffer.alloc(1024 * 1024, 0x42)
		const controller = new AbortController()
		let sent = 0
		const body = new ReadableStream<Uint8Array>({
			start(stream) {
				stream.enqueue(head)
				stream.enqueue(jpeg.subarray(0, 64))
			},
			pull(stream) {
				if (sent >= 25) {
					// The agent's phone loses the network: the request is aborted mid-file.
					controller.abort(new Error('client disconnected'))
					stream.error(new Error('client disconnected'))
					return
				}
				sent++
				stream.enqueue(chunk)
			},
		})
		const request = new Request(new URL(`/projects/${projectId}/upload`, 'http://localhost:3000'), {
			method: 'POST',
			body,
			duplex: 'half',
			signal: controller.signal,
			headers: { Cookie: user.jar.header(), Accept: 'application/json', 'Content-Type': `multipart/form-data; boundary=${boundary}` },
		} as RequestInit)
		await uploadAction({ request, params: { projectId }, context: {} as never }).catch(() => null)
		// Give the storage driver a moment to finish its cleanup of the aborted stream.
		await new Promise((resolve) => setTimeout(resolve, 200))
		await expectNothingLeft(user.id)
	})
})

/** CRC-32 (PNG chunks). */
function crc32(bytes: Uint8Array) {
	let crc = 0xffffffff
	for (const byte of bytes) {
		crc ^= byte
		for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
	}
	return (crc ^ 0xffffffff) >>> 0
}
