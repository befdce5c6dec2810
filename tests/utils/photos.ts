import crypto from 'node:crypto'
import sharp from 'sharp'
import { processPhoto } from '#app/modules/photos/process.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { privileged } from '#app/utils/db.server.ts'

/** A JPEG of a plain room-like picture (a gradient and a few shapes, so results differ visibly). */
export async function roomJpeg(width = 1200, height = 900) {
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
		<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#cfd8e3"/><stop offset="1" stop-color="#8a7a66"/></linearGradient></defs>
		<rect width="100%" height="100%" fill="url(#g)"/>
		<rect x="${width * 0.1}" y="${height * 0.15}" width="${width * 0.25}" height="${height * 0.4}" fill="#f4f1ea"/>
		<rect x="0" y="${height * 0.7}" width="100%" height="${height * 0.3}" fill="#6b5440"/>
	</svg>`
	return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer()
}

/**
 * A ready photo in the user's project, made the way an upload makes it: the original stored,
 * the row `processing`, then the real photo-process code (variants, dimensions, sha256).
 */
export async function readyPhoto(userId: string, projectId: string, options: { bytes?: Buffer; filename?: string } = {}) {
	const bytes = options.bytes ?? (await roomJpeg())
	const id = crypto.randomUUID()
	const originalKey = storageKeys.original(userId, projectId, id, 'jpg')
	await getStorage().put(originalKey, bytes, { contentType: 'image/jpeg' })
	await privileged().photo.create({
		data: {
			id,
			userId,
			projectId,
			status: 'processing',
			originalKey,
			originalFilename: options.filename ?? 'salon.jpg',
			contentType: 'image/jpeg',
			sizeBytes: bytes.length,
		},
	})
	await processPhoto(id)
	const photo = await privileged().photo.findUniqueOrThrow({ where: { id }, select: { status: true } })
	if (photo.status !== 'ready') throw new Error(`test photo is ${photo.status}`)
	return id
}
