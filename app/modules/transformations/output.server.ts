import sharp, { type SharpOptions } from 'sharp'
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
		// The header only; every pixel is decoded below, by the variants.
		;({ width, height } = (await sharp(data, decode).metadata()).autoOrient)
	} catch (error) {
		throw new UnusableOutputError(`the output does not decode: ${error instanceof Error ? error.message : String(error)}`)
	}
	if (width < MIN_SIDE || height < MIN_SIDE) throw new UnusableOutputError(`the output is ${width} × ${height} pixels`)
	try {
		return await encodeFiles(data, format, { width, height, decode, disclosureLabel: options.disclosureLabel })
	} catch (error) {
		// The preview (and the caption) decode every pixel with failOn 'error': a truncated or corrupt
		// file fails there, not in the browser. No separate full decode (stats() cost ~9× a decode).
		throw new UnusableOutputError(`the output does not decode: ${error instanceof Error ? error.message : String(error)}`)
	}
}

async function encodeFiles(
	data: Buffer,
	format: keyof typeof contentTypes,
	options: { width: number; height: number; decode: SharpOptions; disclosureLabel: boolean },
) {
	const { width, height, decode } = options
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
	// A variant no larger than its box is the picture at full size: when both boxes hold the whole
	// picture (a small result) the two variants are the same bytes, encoded once.
	const fits = (kind: Variant['kind']) => Math.max(width, height) <= variantSizes[kind]
	const encode = async (size: number) => {
		const { data: bytes, info } = await sharp(full.data, decode)
			.autoOrient()
			.resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
			.keepIccProfile()
			.withXmp(AI_MARKING_XMP)
			.webp(VARIANT_WEBP)
			.toBuffer({ resolveWithObject: true })
		return { data: bytes, width: info.width, height: info.height, contentType: 'image/webp' as const }
	}
	const [thumbnail, preview] = await Promise.all([
		encode(variantSizes.thumbnail),
		fits('thumbnail') && fits('preview') ? null : encode(variantSizes.preview),
	])
	const variants: Variant[] = [
		{ kind: 'thumbnail', ...thumbnail },
		{ kind: 'preview', ...(preview ?? thumbnail) },
	]
	return { full, width, height, variants }
}

/**
 * The variants' WebP: the photos' quality, at effort 2 rather than 4. On a ~1 MP result (what the
 * models return) the same picture and size within 2 %, for about half the CPU (preview: 95 instead
 * of 171 ms, measured on this machine): the preview is a full-size encode, the costliest step of a
 * transformation's completion.
 */
const VARIANT_WEBP = { ...webpOptions, effort: 2 } as const

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
