import sharp from 'sharp'
import { sniffFormat } from '#app/modules/photos/image.server.ts'
import { variantSizes, webpOptions, type Variant } from '#app/modules/photos/image.server.ts'
import { DISCLOSURE_TEXT } from './catalog.ts'
import { AI_MARKING_XMP, embedXmp } from './marking.server.ts'

/** A provider's output that cannot be a listing photo (not an image, broken, absurd size). */
export class UnusableOutputError extends Error {
	override name = 'UnusableOutputError'
}

const MIN_SIDE = 64

/**
 * Checks that a result is a real, decodable JPEG/PNG/WebP of sane dimensions, burns in the
 * disclosure caption when asked, and makes the thumbnail and preview. The full-resolution file
 * keeps the model's resolution (never resized); only a captioned one is re-encoded (JPEG q92).
 * Every file produced carries the AI marking in its XMP (marking.server.ts), the full-resolution
 * one without re-encoding.
 */
export async function prepareOutput(data: Buffer, options: { maxPixels: number; disclosureLabel: boolean }) {
	const format = sniffFormat(data.subarray(0, 32))
	if (!format || format === 'heic') throw new UnusableOutputError('the output is not a JPEG, PNG or WebP image')
	const decode = { limitInputPixels: options.maxPixels, failOn: 'error' } as const
	let width: number
	let height: number
	try {
		// stats() decodes every pixel: a truncated file fails here, not in the browser.
		const image = sharp(data, decode)
		const metadata = await image.metadata()
		await image.stats()
		;({ width, height } = metadata.autoOrient)
	} catch (error) {
		throw new UnusableOutputError(`the output does not decode: ${error instanceof Error ? error.message : String(error)}`)
	}
	if (width < MIN_SIDE || height < MIN_SIDE) throw new UnusableOutputError(`the output is ${width} × ${height} pixels`)

	let full = { data: embedXmp(data, format), contentType: contentTypes[format], ext: extensions[format] }
	if (options.disclosureLabel) {
		const captioned = await sharp(data, decode)
			.autoOrient()
			.composite([{ input: Buffer.from(captionSvg(width, height)), gravity: 'southwest' }])
			.keepIccProfile()
			.jpeg({ quality: 92, chromaSubsampling: '4:4:4' })
			.toBuffer()
		full = { data: embedXmp(captioned, 'jpeg'), contentType: 'image/jpeg', ext: 'jpg' }
	}
	const variants = await Promise.all(
		(['thumbnail', 'preview'] as const).map(async (kind): Promise<Variant> => {
			const size = variantSizes[kind]
			const { data: bytes, info } = await sharp(full.data, decode)
				.autoOrient()
				.resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
				.keepIccProfile()
				.withXmp(AI_MARKING_XMP)
				.webp(webpOptions)
				.toBuffer({ resolveWithObject: true })
			return { kind, data: bytes, width: info.width, height: info.height, contentType: 'image/webp' }
		}),
	)
	return { full, width, height, variants }
}

const contentTypes = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' } as const
const extensions = { jpeg: 'jpg', png: 'png', webp: 'webp' } as const

/** The caption: white text on a dark band in the bottom-left corner, sized to the image. */
export function captionSvg(width: number, height: number) {
	const fontSize = Math.max(14, Math.round(Math.min(width, height) * 0.035))
	const padding = Math.round(fontSize * 0.6)
	// DejaVu Sans averages ~0.56 em per glyph: the band fits the text without measuring it.
	const bandWidth = Math.min(width, Math.round(DISCLOSURE_TEXT.length * fontSize * 0.58) + padding * 2)
	const bandHeight = fontSize + padding * 2
	return `<svg xmlns="http://www.w3.org/2000/svg" width="${bandWidth}" height="${bandHeight}">
	<rect width="100%" height="100%" fill="rgb(0,0,0)" fill-opacity="0.6"/>
	<text x="${padding}" y="${padding + fontSize * 0.82}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#fff">${DISCLOSURE_TEXT}</text>
</svg>`
}
