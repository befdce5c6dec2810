import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createStorage } from '#app/modules/storage/storage.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { startS3Server } from '#tests/fakes/s3.ts'
import { startServerProcess, tail } from '#tests/utils/app-process.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { WebClient } from '#tests/utils/web-client.ts'

// The S3 storage (Backblaze B2 in production) goes away under the real web server: a photo
// uploaded through the real route is refused with a French message and leaves nothing behind
// (no row, no object, no temporary file); once storage answers again, uploads work, with no
// restart. The app reaches s3rver through a small proxy on 127.0.0.1 that can refuse
// connections (storage unreachable) or answer 503 to everything (storage failing).

type Mode = 'up' | 'down' | '503'

/** An HTTP proxy to `target` whose behaviour the test switches. */
async function startSwitchableProxy(target: string) {
	let mode: Mode = 'up'
	const server = http.createServer((req, res) => {
		if (mode === '503') {
			req.resume()
			res.writeHead(503, { 'Content-Type': 'application/xml' })
			res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>Service unavailable</Message></Error>')
			return
		}
		const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
			res.writeHead(answer.statusCode ?? 502, answer.headers)
			answer.pipe(res)
		})
		upstream.on('error', () => res.destroy())
		req.pipe(upstream)
	})
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const { port } = server.address() as AddressInfo
	return {
		url: `http://127.0.0.1:${port}`,
		async set(next: Mode) {
			if (next === 'down' && server.listening) {
				server.closeAllConnections()
				await new Promise<void>((resolve) => server.close(() => resolve()))
			}
			if (next !== 'down' && !server.listening) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
			mode = next
		},
		async close() {
			if (!server.listening) return
			server.closeAllConnections()
			await new Promise<void>((resolve) => server.close(() => resolve()))
		},
	}
}

let s3: Awaited<ReturnType<typeof startS3Server>>
let proxy: Awaited<ReturnType<typeof startSwitchableProxy>>
let server: Awaited<ReturnType<typeof startServerProcess>>
let jpeg: Buffer

beforeAll(async () => {
	s3 = await startS3Server()
	proxy = await startSwitchableProxy(s3.endpoint)
	server = await startServerProcess({
		env: {
			S3_BUCKET: s3.bucket,
			S3_ENDPOINT: proxy.url,
			S3_REGION: s3.region,
			S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
			S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
			S3_FORCE_PATH_STYLE: 'true',
		},
	})
	jpeg = await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 150, g: 160, b: 170 } } })
		.jpeg()
		.toBuffer()
})

afterAll(async () => {
	await server?.stop()
	await proxy?.close()
	await s3?.close()
})

/** What s3rver itself holds under the user's prefix (read directly, not through the proxy). */
async function objectsOf(userId: string) {
	const direct = createStorage({ driver: 's3', ...s3, forcePathStyle: true, signedUrlTtlSeconds: 300 })
	const keys: string[] = []
	for await (const object of direct.list(`${userId}/`)) keys.push(object.key)
	return keys
}

/** Files of this test's storage folder and of its temp subfolder (nothing should be written there with S3). */
function localFiles() {
	const root = process.env.STORAGE_DIR!
	return fs.existsSync(root) ? fs.readdirSync(root, { recursive: true }).map((entry) => path.join(root, String(entry))) : []
}

async function upload(browser: WebClient, projectId: string, name: string) {
	const form = new FormData()
	form.append('photo', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), name)
	const response = await browser.request(`/projects/${projectId}/upload`, {
		method: 'POST',
		body: form,
		headers: { Accept: 'application/json', 'X-CSRF-Token': await browser.csrf() },
		// The SDK retries a failing storage a few times with backoff: a generous bound, not a measure.
		signal: AbortSignal.timeout(60_000),
	})
	return { status: response.status, body: (await response.json()) as { files: { name: string; ok: boolean; message?: string }[] } }
}

describe('storage outage', () => {
	test.each<[Mode, string]>([
		['down', 'refuses connections'],
		['503', 'answers 503 to everything'],
	])('storage %s (%s): the upload fails in French, leaves nothing; storage back: uploads work', { timeout: 120_000 }, async (mode) => {
		const user = await loggedInUser()
		const { id: projectId } = await privileged().project.create({
			data: { userId: user.id, name: 'Maison de maître' },
			select: { id: true },
		})
		const browser = new WebClient(server.url, user.jar)
		const filesBefore = localFiles()

		await proxy.set(mode)
		const failed = await upload(browser, projectId, 'salon.jpg')
		expect(failed.status, tail(server.lines)).toBe(422)
		expect(failed.body.files).toEqual([
			{
				name: 'salon.jpg',
				ok: false,
				message: 'Le stockage ne répond pas : « salon.jpg » n’a pas été enregistrée. Réessayez dans un instant.',
			},
		])
		expect(await privileged().photo.count({ where: { userId: user.id } })).toBe(0)
		expect(server.child.exitCode).toBeNull()

		await proxy.set('up')
		expect(await objectsOf(user.id)).toEqual([])
		expect(localFiles()).toEqual(filesBefore)

		const ok = await upload(browser, projectId, 'cuisine.jpg')
		expect(ok.status).toBe(200)
		expect(ok.body.files).toEqual([expect.objectContaining({ name: 'cuisine.jpg', ok: true })])
		const photos = await privileged().photo.findMany({ where: { userId: user.id }, select: { originalKey: true, status: true } })
		expect(photos).toEqual([
			{ originalKey: expect.stringMatching(new RegExp(`^${user.id}/originals/${projectId}/`)), status: 'processing' },
		])
		expect(await objectsOf(user.id)).toEqual([photos[0]!.originalKey])
	})
})
