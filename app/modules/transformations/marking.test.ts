import sharp from 'sharp'
import { describe, expect, test } from 'vitest'
import { roomJpeg } from '#tests/utils/photos.ts'
import { DIGITAL_SOURCE_TYPE, embedXmp, MalformedImageError, type MarkableFormat } from './marking.server.ts'

const MARK = `Iptc4xmpExt:DigitalSourceType="${DIGITAL_SOURCE_TYPE}"`

/** Decoded pixels: the marking must not change a single one. */
const pixels = (image: Buffer) => sharp(image).raw().toBuffer()

/** The XMP packet as libvips reads it back (an independent reader). */
const xmpOf = async (image: Buffer) => (await sharp(image).metadata()).xmp?.toString('utf8') ?? ''

const count = (haystack: string, needle: string) => haystack.split(needle).length - 1

async function samples(): Promise<[string, MarkableFormat, Buffer][]> {
	const jpeg = await roomJpeg(640, 480)
	const withAlpha = sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 40, g: 90, b: 160, alpha: 0.5 } } })
	return [
		[
			'JPEG with EXIF',
			'jpeg',
			await sharp(jpeg)
				.withExif({ IFD0: { Copyright: 'Agence' } })
				.jpeg()
				.toBuffer(),
		],
		[
			'JPEG already carrying XMP',
			'jpeg',
			await sharp(jpeg).withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><old/></x:xmpmeta>').jpeg().toBuffer(),
		],
		['PNG', 'png', await sharp(jpeg).png().toBuffer()],
		['PNG with alpha', 'png', await withAlpha.clone().png().toBuffer()],
		['lossy WebP (VP8)', 'webp', await sharp(jpeg).webp({ quality: 80 }).toBuffer()],
		['lossless WebP with alpha (VP8L)', 'webp', await withAlpha.clone().webp({ lossless: true }).toBuffer()],
		['extended WebP (VP8X + ICC)', 'webp', await sharp(jpeg).withIccProfile('p3').webp({ quality: 80 }).toBuffer()],
	]
}

describe('AI marking in the file', () => {
	test('every format gets the IPTC digital source type once, pixels and size untouched', async () => {
		for (const [name, format, image] of await samples()) {
			const marked = embedXmp(image, format)
			const before = await sharp(image).metadata()
			const after = await sharp(marked).metadata()
			expect(after.format, name).toBe(before.format)
			expect([after.width, after.height, after.hasAlpha], name).toEqual([before.width, before.height, before.hasAlpha])
			expect((await pixels(marked)).equals(await pixels(image)), name).toBe(true)
			const xmp = await xmpOf(marked)
			expect(count(xmp, MARK), name).toBe(1)
			expect(xmp, name).not.toContain('<old/>')
			// Marking twice replaces the packet instead of stacking a second one.
			const twice = embedXmp(marked, format)
			expect(count(await xmpOf(twice), MARK), name).toBe(1)
			expect(twice.length, name).toBe(marked.length)
		}
	})

	test('the rest of the metadata stays: EXIF of a JPEG, the colour profile of a WebP', async () => {
		const all = new Map((await samples()).map(([name, , image]) => [name, image]))
		const exifJpeg = all.get('JPEG with EXIF')!
		const iccWebp = all.get('extended WebP (VP8X + ICC)')!
		expect((await sharp(embedXmp(exifJpeg, 'jpeg')).metadata()).exif).toBeDefined()
		const icc = (await sharp(iccWebp).metadata()).icc
		expect(icc).toBeDefined()
		expect((await sharp(embedXmp(iccWebp, 'webp')).metadata()).icc?.equals(icc!)).toBe(true)
	})

	test('a file that is not what it claims is refused, not silently passed on', async () => {
		const jpeg = await roomJpeg(200, 150)
		expect(() => embedXmp(jpeg, 'png')).toThrow(MalformedImageError)
		expect(() => embedXmp(jpeg, 'webp')).toThrow(MalformedImageError)
		expect(() => embedXmp(Buffer.from('not an image'), 'jpeg')).toThrow(MalformedImageError)
		// An APP1 segment announcing more bytes than the file holds.
		expect(() => embedXmp(Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 0x45, 0x78]), 'jpeg')).toThrow(MalformedImageError)
		const png = await sharp(jpeg).png().toBuffer()
		expect(() => embedXmp(png.subarray(0, 40), 'png')).toThrow(MalformedImageError)
	})
})
