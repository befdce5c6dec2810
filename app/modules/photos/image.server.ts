// Photo processing, shared by the upload route (sniffFormat) and the photo-process job (processImage).
// Pure: reads one local file, returns bytes; storage and database are the caller's business.
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import sharp, { type Metadata, type Sharp, type SharpOptions, type WebpOptions } from 'sharp'
import { getEnv } from '#app/utils/env.server.ts'

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'heic'

export const imageTypes: Record<ImageFormat, { contentType: string; ext: 'jpg' | 'png' | 'webp' | 'heic' }> = {
	jpeg: { contentType: 'image/jpeg', ext: 'jpg' },
	png: { contentType: 'image/png', ext: 'png' },
	webp: { contentType: 'image/webp', ext: 'webp' },
	heic: { contentType: 'image/heic', ext: 'heic' },
}

/** How many bytes of the file sniffFormat needs. */
export const SNIFF_BYTES = 32

// HEVC-coded HEIF (iPhone, Samsung, Canon HIF) and the generic HEIF brands. AVIF ('avif', 'avis')
// is another codec in the same container: not accepted, it would need its own decoder decision.
const heicBrands = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis'])
const heifBrands = new Set(['mif1', 'msf1'])
const avifBrands = new Set(['avif', 'avis'])

const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end))

/** The format from magic bytes only (never the name or Content-Type); needs the first 32 bytes; null for anything else (SVG, text, GIF, random bytes, empty). HEIC: ISO-BMFF 'ftyp' with brands heic/heix/hevc/hevx/mif1/msf1/heim/heis (an AVIF-only 'avif' brand is null). */
export function sniffFormat(head: Uint8Array): ImageFormat | null {
	if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg'
	if (head.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((byte, i) => head[i] === byte)) return 'png'
	if (head.length >= 16 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP' && ascii(head, 12, 15) === 'VP8') return 'webp'
	if (head.length >= 12 && ascii(head, 4, 8) === 'ftyp') {
		const boxSize = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(0)
		if (boxSize < 16) return null
		// Major brand, then the compatible brands that fit in the head (the 4 bytes at 12 are a version).
		const brands = [ascii(head, 8, 12)]
		for (let at = 16; at + 4 <= Math.min(boxSize, head.length); at += 4) brands.push(ascii(head, at, at + 4))
		if (brands.some((brand) => heicBrands.has(brand))) return 'heic'
		if (brands.some((brand) => avifBrands.has(brand))) return null
		if (heifBrands.has(brands[0]!)) return 'heic'
	}
	return null
}

/** Why an image was refused; `code` is what the caller maps to a message (the text is for logs). */
export class ImageError extends Error {
	override name = 'ImageError'
	constructor(
		readonly code: 'unsupported' | 'corrupt' | 'too_many_pixels',
		message?: string,
		options?: { cause?: unknown },
	) {
		super(message ?? code, options)
	}
}

export type Variant = { kind: 'thumbnail' | 'preview'; data: Buffer; width: number; height: number; contentType: 'image/webp' }

/** Longest side of each variant, in pixels (never upscaled). */
export const variantSizes = { thumbnail: 400, preview: 1600 } as const satisfies Record<Variant['kind'], number>

/** The WebP encoder settings of every variant (the bench's bare-sharp baseline uses them too). */
export const webpOptions = { quality: 80, effort: 4 } as const satisfies WebpOptions

/** Turns a libvips/sharp error into an ImageError: bombs refused from the header, anything else is a broken file. */
function toImageError(error: unknown, format: ImageFormat) {
	if (error instanceof ImageError) return error
	const message = error instanceof Error ? error.message : String(error)
	if (/pixel limit/i.test(message)) return new ImageError('too_many_pixels', message, { cause: error })
	if (/unsupported image format/i.test(message)) return new ImageError('unsupported', message, { cause: error })
	return new ImageError('corrupt', `${format}: ${message}`, { cause: error })
}

// What sharp's metadata() calls each format (HEIC is read through libvips' HEIF loader).
const sharpFormat: Record<ImageFormat, string> = { jpeg: 'jpeg', png: 'png', webp: 'webp', heic: 'heif' }

/**
 * Only an RGB profile is kept as is (a Display P3 photo stays wide-gamut, untouched); without it,
 * sharp converts the pixels to sRGB with the embedded profile (CMYK, grey) and attaches none.
 */
const isRgbProfile = (icc: Buffer | undefined): icc is Buffer => !!icc && icc.length >= 20 && icc.toString('latin1', 16, 20) === 'RGB '

/** Decodes the file at `path` (any of the 4 formats, checked by magic bytes again), with a pixel cap (default env IMAGE_MAX_PIXELS), fails on truncated/corrupt input (failOn 'truncated' or 'error'), applies EXIF orientation, and returns the upright dimensions, the sha256 of the file bytes, and two WebP variants: thumbnail ~400 px and preview ~1600 px on the longest side (never upscaled), with the ICC colour profile kept and NO EXIF/GPS/XMP/camera serial (autoOrient → resize → keepIccProfile → webp). */
export async function processImage(
	path: string,
	options: { maxPixels?: number } = {},
): Promise<{ format: ImageFormat; width: number; height: number; sha256: string; variants: Variant[] }> {
	const maxPixels = options.maxPixels ?? getEnv().IMAGE_MAX_PIXELS
	// Read once: what is hashed is exactly what is decoded (uploads are capped at UPLOAD_MAX_BYTES).
	const file = await fs.readFile(path)
	const format = sniffFormat(file.subarray(0, SNIFF_BYTES))
	if (!format) throw new ImageError('unsupported', file.length ? 'not a JPEG, PNG, WebP or HEIC file' : 'empty file')
	const sha256 = createHash('sha256').update(file).digest('hex')

	// failOn 'error' includes 'truncated' and tolerates warnings that many camera files trigger.
	const decodeOptions = { limitInputPixels: maxPixels, failOn: 'error' } as const satisfies SharpOptions
	let header: Metadata
	try {
		// Header only: a bomb is refused here, before any pixel is decoded.
		header = await sharp(file, decodeOptions).metadata()
	} catch (error) {
		throw toImageError(error, format)
	}
	if (header.format !== sharpFormat[format])
		throw new ImageError('unsupported', `magic bytes say ${format}, the decoder says ${header.format ?? 'nothing'}`)
	// HEIC: libheif applies irot/imir in the header dimensions already, and EXIF orientation does not apply.
	const { width, height } = header.autoOrient
	if (width * height > maxPixels) throw new ImageError('too_many_pixels', `${width} × ${height} pixels is more than ${maxPixels}`)

	let source: () => Sharp
	let icc: Buffer | undefined
	if (format === 'heic') {
		// sharp's prebuilt libvips reads HEIF headers but has no HEVC decoder (decision 008).
		const { decodeHeic } = await import('./heic.server.ts')
		const decoded = await decodeHeic(file, { maxPixels })
		if (decoded.width !== width || decoded.height !== height)
			throw new ImageError('corrupt', `HEIC header says ${width} × ${height}, the decoder gave ${decoded.width} × ${decoded.height}`)
		const raw = { width, height, channels: 4 } as const
		source = () => {
			const image = sharp(decoded.data, { raw, limitInputPixels: maxPixels })
			return header.hasAlpha ? image : image.removeAlpha()
		}
		// Raw pixels carry no profile: the file's profile is attached to each WebP afterwards.
		icc = isRgbProfile(header.icc) ? header.icc : undefined
	} else {
		source = () => sharp(file, decodeOptions)
	}
	const keepProfile = format !== 'heic' && isRgbProfile(header.icc)

	const variant = async (kind: Variant['kind']): Promise<Variant> => {
		const size = variantSizes[kind]
		let pipeline = source().autoOrient().resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
		if (keepProfile) pipeline = pipeline.keepIccProfile()
		const { data, info } = await pipeline.webp(webpOptions).toBuffer({ resolveWithObject: true })
		return {
			kind,
			data: icc ? withWebpIccProfile(data, icc, info.width, info.height) : data,
			width: info.width,
			height: info.height,
			contentType: 'image/webp',
		}
	}
	let variants: Variant[]
	try {
		variants = await Promise.all([variant('thumbnail'), variant('preview')])
	} catch (error) {
		throw toImageError(error, format)
	}
	return { format, width, height, sha256, variants }
}

/** RIFF chunks of a WebP file, after the 12-byte 'RIFF' size 'WEBP' header. */
function webpChunks(webp: Buffer) {
	if (webp.toString('latin1', 0, 4) !== 'RIFF' || webp.toString('latin1', 8, 12) !== 'WEBP') throw new Error('not a WebP file')
	const chunks: { type: string; bytes: Buffer }[] = []
	for (let at = 12; at + 8 <= webp.length;) {
		const size = webp.readUInt32LE(at + 4)
		const end = at + 8 + size + (size & 1) // payloads are padded to an even length
		if (end > webp.length) throw new Error('truncated WebP chunk')
		chunks.push({ type: webp.toString('latin1', at, at + 4), bytes: webp.subarray(at, end) })
		at = end
	}
	return chunks
}

/**
 * Adds an ICC profile to a WebP encoded by sharp from raw pixels (which carry none): an ICCP chunk
 * after a VP8X header with the ICC flag, as the WebP container spec lays it out.
 */
export function withWebpIccProfile(webp: Buffer, icc: Buffer, width: number, height: number) {
	const chunks = webpChunks(webp).filter((chunk) => chunk.type !== 'ICCP')
	let vp8x = chunks.find((chunk) => chunk.type === 'VP8X')?.bytes
	if (!vp8x) {
		vp8x = Buffer.alloc(18)
		vp8x.write('VP8X', 0, 'latin1')
		vp8x.writeUInt32LE(10, 4)
		vp8x.writeUIntLE(width - 1, 12, 3)
		vp8x.writeUIntLE(height - 1, 15, 3)
		// A simple-format file is one VP8 (lossy, opaque) or VP8L chunk; VP8L says in its header whether it uses alpha.
		const vp8l = chunks.find((chunk) => chunk.type === 'VP8L')?.bytes
		if (vp8l && vp8l.length >= 13 && vp8l.readUInt32LE(9) & (1 << 28)) vp8x[8]! |= 0x10
	} else {
		vp8x = Buffer.from(vp8x)
	}
	vp8x[8]! |= 0x20 // ICC profile present
	const iccp = Buffer.alloc(8 + icc.length + (icc.length & 1))
	iccp.write('ICCP', 0, 'latin1')
	iccp.writeUInt32LE(icc.length, 4)
	icc.copy(iccp, 8)
	const rest = chunks.filter((chunk) => chunk.type !== 'VP8X').map((chunk) => chunk.bytes)
	const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), vp8x, iccp, ...rest])
	const head = Buffer.alloc(8)
	head.write('RIFF', 0, 'latin1')
	head.writeUInt32LE(body.length, 4)
	return Buffer.concat([head, body])
}
