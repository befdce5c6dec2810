import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import sharp from 'sharp'
import { onTestFinished, describe, expect, test, vi } from 'vitest'
import yauzl from 'yauzl'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { DIGITAL_SOURCE_TYPE } from '#app/modules/transformations/marking.server.ts'
import { prepareOutput } from '#app/modules/transformations/output.server.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { call, type CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { action as uploadAction } from './$projectId_.upload.ts'
import { loader as zipLoader } from './$projectId_.zip.ts'

type Unzipped = { name: string; data: Buffer; entry: yauzl.Entry }

async function newProject(name = 'Maison de ville') {
	const user = await loggedInUser()
	const project = await privileged().project.create({ data: { userId: user.id, name }, select: { id: true } })
	return { user, projectId: project.id }
}

/** A photo row and its stored original, as the upload leaves them (without going through it). */
async function addPhoto(
	userId: string,
	projectId: string,
	filename: string,
	bytes: Buffer,
	status: 'processing' | 'ready' | 'uploading' | 'error' = 'ready',
) {
	const photo = await privileged().photo.create({
		data: {
			userId,
			projectId,
			status,
			originalKey: 'pending',
			originalFilename: filename,
			contentType: 'image/jpeg',
			sizeBytes: bytes.length,
		},
		select: { id: true },
	})
	const originalKey = storageKeys.original(userId, projectId, photo.id, 'jpg')
	await getStorage().put(originalKey, bytes, { contentType: 'image/jpeg' })
	await privileged().photo.update({ where: { id: photo.id }, data: { originalKey } })
	return { id: photo.id, originalKey }
}

/** A transformation row with the given status; when `output` is given, its stored result too. */
async function addTransformation(
	userId: string,
	projectId: string,
	photoId: string,
	options: { status?: 'succeeded' | 'failed'; style?: string; output?: { bytes: Buffer; ext: string } } = {},
) {
	const transformation = await privileged().transformation.create({
		data: {
			userId,
			projectId,
			photoId,
			batchId: crypto.randomUUID(),
			kind: 'virtual_staging',
			style: options.style ?? null,
			creditsCost: 1,
			provider: 'local',
			status: options.status ?? 'succeeded',
		},
		select: { id: true },
	})
	if (!options.output) return { id: transformation.id, outputKey: null }
	const outputKey = storageKeys.transformed(userId, projectId, transformation.id, options.output.ext)
	await getStorage().put(outputKey, options.output.bytes, { contentType: 'image/webp' })
	await privileged().transformation.update({ where: { id: transformation.id }, data: { outputKey, completedAt: new Date() } })
	return { id: transformation.id, outputKey }
}

function zipRequest(projectId: string, jar: CookieJar, init: { method?: string; signal?: AbortSignal } = {}) {
	return new Request(new URL(`/projects/${projectId}/zip`, 'http://localhost:3000'), {
		method: init.method ?? 'GET',
		headers: { Cookie: jar.header(), 'x-renzo-client-ip': '127.0.0.1' },
		signal: init.signal,
	})
}

function download(projectId: string, jar: CookieJar, init: { method?: string; signal?: AbortSignal } = {}) {
	return call(() => zipLoader({ request: zipRequest(projectId, jar, init), params: { projectId }, context: {} as never }))
}

async function bytesOf(key: string) {
	const object = await getStorage().get(key)
	if (!object) throw new Error(`missing ${key}`)
	const chunks: Buffer[] = []
	for await (const chunk of object.body) chunks.push(chunk as Buffer)
	return Buffer.concat(chunks)
}

/** Every entry of a ZIP, in order, checked by yauzl (sizes, CRC, file names). */
function unzip(buffer: Buffer): Promise<Unzipped[]> {
	return new Promise((resolve, reject) => {
		yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (error, zip) => {
			if (error) return reject(error)
			const files: Unzipped[] = []
			zip.on('error', reject)
			zip.on('end', () => resolve(files))
			zip.on('entry', (entry: yauzl.Entry) => {
				zip.openReadStream(entry, (openError, stream) => {
					if (openError) return reject(openError)
					const chunks: Buffer[] = []
					stream.on('data', (chunk: Buffer) => chunks.push(chunk))
					stream.on('error', reject)
					stream.on('end', () => {
						files.push({ name: entry.fileName, data: Buffer.concat(chunks), entry })
						zip.readEntry()
					})
				})
			})
			zip.readEntry()
		})
	})
}

/** Records every object the archive opens from storage (restored after the test). */
function watchStorageReads() {
	const storage = getStorage()
	const original = storage.get.bind(storage)
	const opened: { key: string; body: Readable }[] = []
	const spy = vi.spyOn(storage, 'get').mockImplementation(async (key) => {
		const object = await original(key)
		if (object) opened.push({ key, body: object.body })
		return object
	})
	onTestFinished(() => spy.mockRestore())
	return { spy, opened }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('project ZIP download', () => {
	test('holds every uploaded original and every finished transformation, byte for byte, stored uncompressed', async () => {
		const { user, projectId } = await newProject('Villa « Les Pins » / Biarritz')
		const base = sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 180, g: 140, b: 90 } } })
		const form = new FormData()
		form.append('photo', new Blob([(await base.clone().jpeg().toBuffer()) as BlobPart], { type: 'image/jpeg' }), 'salon.jpg')
		form.append('photo', new Blob([(await base.clone().png().toBuffer()) as BlobPart], { type: 'image/png' }), 'cuisine.png')
		const uploaded = (await uploadAction({
			request: new Request(new URL(`/projects/${projectId}/upload`, 'http://localhost:3000'), {
				method: 'POST',
				body: form,
				headers: { Cookie: user.jar.header(), Accept: 'application/json', 'x-renzo-client-ip': '127.0.0.1' },
			}),
			params: { projectId },
			context: {} as never,
		})) as Response
		expect(uploaded.status).toBe(200)
		const photos = await privileged().photo.findMany({
			where: { projectId },
			select: { id: true, originalKey: true, originalFilename: true },
		})
		const salon = photos.find((p) => p.originalFilename === 'salon.jpg')!
		const cuisine = photos.find((p) => p.originalFilename === 'cuisine.png')!
		// The result as the worker stores it: marked as AI-made in its XMP.
		const result = await prepareOutput(await base.clone().webp().toBuffer(), { maxPixels: 100_000_000, disclosureLabel: false })
		const staged = await addTransformation(user.id, projectId, salon.id, {
			style: 'scandinave',
			output: { bytes: result.full.data, ext: result.full.ext },
		})
		// Neither a failed one nor a succeeded one without a result is in the archive.
		await addTransformation(user.id, projectId, salon.id, { status: 'failed' })
		await addTransformation(user.id, projectId, cuisine.id)

		const { status, response } = await download(projectId, user.jar)
		expect(status).toBe(200)
		expect(response!.headers.get('Content-Type')).toBe('application/zip')
		expect(response!.headers.get('Cache-Control')).toBe('private, no-store')
		expect(response!.headers.get('Content-Disposition')).toBe(
			`attachment; filename="Villa _ Les Pins _ _ Biarritz.zip"; filename*=UTF-8''Villa%20%C2%AB%20Les%20Pins%20%C2%BB%20_%20Biarritz.zip`,
		)
		expect(response!.body).toBeInstanceOf(ReadableStream)

		const files = await unzip(Buffer.from(await response!.arrayBuffer()))
		expect(files.map((f) => f.name).sort()).toEqual(
			[
				'originaux/cuisine.png',
				'originaux/salon.jpg',
				`transformations/salon - virtual_staging - scandinave - ${staged.id.slice(0, 8)}.webp`,
			].sort(),
		)
		const byName = new Map(files.map((f) => [f.name, f]))
		expect(byName.get('originaux/salon.jpg')!.data.equals(await bytesOf(salon.originalKey))).toBe(true)
		expect(byName.get('originaux/cuisine.png')!.data.equals(await bytesOf(cuisine.originalKey))).toBe(true)
		expect(
			byName
				.get(`transformations/salon - virtual_staging - scandinave - ${staged.id.slice(0, 8)}.webp`)!
				.data.equals(await bytesOf(staged.outputKey!)),
		).toBe(true)
		// The AI marking travels inside the file, read back from the archive.
		const zipped = byName.get(`transformations/salon - virtual_staging - scandinave - ${staged.id.slice(0, 8)}.webp`)!.data
		expect((await sharp(zipped).metadata()).xmp?.toString('utf8')).toContain(`Iptc4xmpExt:DigitalSourceType="${DIGITAL_SOURCE_TYPE}"`)
		for (const file of files) {
			expect(file.entry.compressionMethod, file.name).toBe(0) // STORE
			expect(file.entry.generalPurposeBitFlag & 0x8, file.name).toBe(0x8) // sizes in a data descriptor
		}
	})

	test('names are deduplicated (case-insensitively) and cleaned; photos still uploading or refused are left out', async () => {
		const { user, projectId } = await newProject()
		const one = await addPhoto(user.id, projectId, 'salon.jpg', Buffer.from('premier'))
		const two = await addPhoto(user.id, projectId, 'salon.jpg', Buffer.from('deuxième'))
		await addPhoto(user.id, projectId, 'Salon.JPG', Buffer.from('troisième'))
		await addPhoto(user.id, projectId, '..\\..\\notes:1?.jpg\n', Buffer.from('étrange'))
		await addPhoto(user.id, projectId, 'en-cours.jpg', Buffer.from('partiel'), 'uploading')
		await addPhoto(user.id, projectId, 'refusée.jpg', Buffer.from('refusée'), 'error')
		const staged = await addTransformation(user.id, projectId, one.id, { output: { bytes: Buffer.from('résultat'), ext: 'png' } })
		const stagedAgain = await addTransformation(user.id, projectId, two.id, {
			style: 'bohème/chic',
			output: { bytes: Buffer.from('résultat 2'), ext: 'png' },
		})

		const { response } = await download(projectId, user.jar)
		const files = await unzip(Buffer.from(await response!.arrayBuffer()))
		expect(files.map((f) => [f.name, f.data.toString()])).toEqual([
			['originaux/salon.jpg', 'premier'],
			['originaux/salon (2).jpg', 'deuxième'],
			['originaux/Salon (3).JPG', 'troisième'],
			['originaux/_.._notes_1_.jpg', 'étrange'],
			[`transformations/salon - virtual_staging - ${staged.id.slice(0, 8)}.png`, 'résultat'],
			[`transformations/salon - virtual_staging - bohème_chic - ${stagedAgain.id.slice(0, 8)}.png`, 'résultat 2'],
		])
	})

	test("another user's project, an unknown, malformed or deleted id: 404, and storage is not read", async () => {
		const { user, projectId } = await newProject()
		await addPhoto(user.id, projectId, 'salon.jpg', Buffer.from('privé'))
		const intruder = await loggedInUser()
		const reads = watchStorageReads()
		expect((await download(projectId, intruder.jar)).status).toBe(404)
		expect((await download(crypto.randomUUID(), user.jar)).status).toBe(404)
		expect((await download('pas-un-uuid', user.jar)).status).toBe(404)
		expect((await download(`${projectId}'--`, user.jar)).status).toBe(404)
		await privileged().project.update({ where: { id: projectId }, data: { deletedAt: new Date() } })
		expect((await download(projectId, user.jar)).status).toBe(404)
		expect(reads.spy).not.toHaveBeenCalled()
	})

	test('an object missing from storage is left out; the rest of the archive is complete', async () => {
		const { user, projectId } = await newProject()
		await addPhoto(user.id, projectId, 'salon.jpg', Buffer.from('salon'))
		const gone = await addPhoto(user.id, projectId, 'cuisine.jpg', Buffer.from('cuisine'))
		await addPhoto(user.id, projectId, 'chambre.jpg', Buffer.from('chambre'))
		await getStorage().delete(gone.originalKey)
		const { status, response } = await download(projectId, user.jar)
		expect(status).toBe(200)
		const files = await unzip(Buffer.from(await response!.arrayBuffer()))
		expect(files.map((f) => [f.name, f.data.toString()])).toEqual([
			['originaux/salon.jpg', 'salon'],
			['originaux/chambre.jpg', 'chambre'],
		])
	})

	test('a project without photos is a valid, empty ZIP', async () => {
		const { user, projectId } = await newProject()
		const { status, response } = await download(projectId, user.jar)
		expect(status).toBe(200)
		const bytes = Buffer.from(await response!.arrayBuffer())
		expect(bytes.readUInt32LE(0)).toBe(0x06054b50) // just the end-of-central-directory record
		expect(await unzip(bytes)).toEqual([])
	})

	test('objects are opened one at a time, as the client reads (backpressure)', async () => {
		const { user, projectId } = await newProject()
		const big = [crypto.randomBytes(2 * 1024 * 1024), crypto.randomBytes(2 * 1024 * 1024), crypto.randomBytes(2 * 1024 * 1024)]
		for (const [i, bytes] of big.entries()) await addPhoto(user.id, projectId, `photo-${i + 1}.jpg`, bytes)
		const reads = watchStorageReads()
		const { response } = await download(projectId, user.jar)
		const reader = response!.body!.getReader()
		await reader.read()
		await pause(150)
		// The client has read one chunk: only the first object is open, and it is not read through.
		expect(reads.opened.map((o) => o.key)).toHaveLength(1)
		expect(reads.opened[0]!.body.readableEnded).toBe(false)

		const chunks: Uint8Array[] = []
		for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value)
		expect(reads.opened).toHaveLength(3)
		// (The first chunk was dropped above: only the entries after it are checked.)
		const tail = Buffer.concat(chunks)
		expect(tail.subarray(tail.length - 22).readUInt32LE(0)).toBe(0x06054b50)
	})

	test.each(['the request is aborted', 'the body is canceled'])(
		'when %s, storage reading stops and the open object is closed',
		async (how) => {
			const { user, projectId } = await newProject()
			for (let i = 1; i <= 3; i++) await addPhoto(user.id, projectId, `photo-${i}.jpg`, crypto.randomBytes(2 * 1024 * 1024))
			const reads = watchStorageReads()
			const controller = new AbortController()
			const { response } = await download(projectId, user.jar, { signal: controller.signal })
			const reader = response!.body!.getReader()
			await reader.read()
			await pause(50)
			expect(reads.opened).toHaveLength(1)
			if (how === 'the request is aborted') controller.abort()
			else await reader.cancel()
			await pause(150)
			expect(reads.opened).toHaveLength(1)
			expect(reads.opened[0]!.body.destroyed).toBe(true)
			expect(reads.spy).toHaveBeenCalledTimes(1)
		},
	)

	test('a storage failure in the middle of an object fails the download instead of ending it as if complete', async () => {
		const { user, projectId } = await newProject()
		await addPhoto(user.id, projectId, 'salon.jpg', Buffer.from('salon'))
		const storage = getStorage()
		const spy = vi.spyOn(storage, 'get').mockImplementation(async () => {
			let sent = false
			const body = new Readable({
				read() {
					if (sent) this.destroy(new Error('connection reset by the bucket'))
					else this.push(Buffer.alloc(1024, 1))
					sent = true
				},
			})
			return { body, size: 4096, contentType: 'image/jpeg' }
		})
		onTestFinished(() => spy.mockRestore())
		const { response } = await download(projectId, user.jar)
		await expect(response!.arrayBuffer()).rejects.toThrow('connection reset by the bucket')
	})

	test('HEAD answers the headers without reading storage', async () => {
		const { user, projectId } = await newProject('Appartement')
		await addPhoto(user.id, projectId, 'salon.jpg', Buffer.from('salon'))
		const reads = watchStorageReads()
		const { status, response } = await download(projectId, user.jar, { method: 'HEAD' })
		expect(status).toBe(200)
		expect(response!.headers.get('Content-Disposition')).toContain('filename="Appartement.zip"')
		expect(response!.body).toBeNull()
		await pause(50)
		expect(reads.spy).not.toHaveBeenCalled()
	})
})
