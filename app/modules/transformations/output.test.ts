import sharp from 'sharp'
import { describe, expect, test } from 'vitest'
import { roomJpeg } from '#tests/utils/photos.ts'
import { enhance, STANDARD_MAX_SIDE } from './enhance.server.ts'
import { DIGITAL_SOURCE_TYPE } from './marking.server.ts'
import { prepareOutput, UnusableOutputError } from './output.server.ts'

const maxPixels = 100_000_000

/** Mean luminance of a region (0–255). */
async function meanOf(image: Buffer, region: { left: number; top: number; width: number; height: number }) {
	// stats() reads its input, not the pipeline: extract first.
	const part = await sharp(image).extract(region).greyscale().png().toBuffer()
	const stats = await sharp(part).stats()
	return stats.channels[0]!.mean
}

describe('provider outputs', () => {
	test('a real image is kept at the model’s resolution, with a thumbnail and a preview', async () => {
		const png = await sharp(await roomJpeg(1024, 768))
			.png()
			.toBuffer()
		const output = await prepareOutput(png, { maxPixels, disclosureLabel: false })
		expect(output.full).toMatchObject({ contentType: 'image/png', ext: 'png' })
		// Not re-encoded: the model's pixels, bit for bit, plus the AI marking.
		expect((await sharp(output.full.data).raw().toBuffer()).equals(await sharp(png).raw().toBuffer())).toBe(true)
		for (const file of [output.full.data, ...output.variants.map((variant) => variant.data)])
			expect((await sharp(file).metadata()).xmp?.toString('utf8')).toContain(`Iptc4xmpExt:DigitalSourceType="${DIGITAL_SOURCE_TYPE}"`)
		expect([output.width, output.height]).toEqual([1024, 768])
		expect(output.variants.map((v) => [v.kind, v.width, v.height])).toEqual([
			['thumbnail', 400, 300],
			['preview', 1024, 768],
		])
	})

	test('the disclosure caption is burnt into the bottom-left corner, nothing else changes size', async () => {
		const jpeg = await roomJpeg(1200, 900)
		const plain = await prepareOutput(jpeg, { maxPixels, disclosureLabel: false })
		const captioned = await prepareOutput(jpeg, { maxPixels, disclosureLabel: true })
		expect(captioned.full.contentType).toBe('image/jpeg')
		expect((await sharp(captioned.full.data).metadata()).xmp?.toString('utf8')).toContain(DIGITAL_SOURCE_TYPE)
		expect(await sharp(captioned.full.data).metadata()).toMatchObject({ width: 1200, height: 900 })
		// Inside the band, right of the text (the text itself is white).
		const corner = { left: 530, top: 840, width: 20, height: 50 }
		const topRight = { left: 1000, top: 5, width: 190, height: 60 }
		// The band darkens the corner; the rest of the picture is the same.
		expect(await meanOf(captioned.full.data, corner)).toBeLessThan((await meanOf(plain.full.data, corner)) - 20)
		expect(Math.abs((await meanOf(captioned.full.data, topRight)) - (await meanOf(plain.full.data, topRight)))).toBeLessThan(3)
	})

	test('text, random bytes, a truncated image and a tiny image are refused as unusable', async () => {
		const jpeg = await roomJpeg(800, 600)
		for (const bad of [
			Buffer.from('<html>Not found</html>'),
			Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
			jpeg.subarray(0, Math.floor(jpeg.length / 2)),
			await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } })
				.png()
				.toBuffer(),
		])
			await expect(prepareOutput(bad, { maxPixels, disclosureLabel: false })).rejects.toBeInstanceOf(UnusableOutputError)
	})
})

describe('local enhancement', () => {
	test('Standard is capped at 2560 px, HD keeps every pixel; output is a JPEG without EXIF or GPS', async () => {
		const big = await sharp(await roomJpeg(3000, 2000))
			.withExif({ IFD0: { Make: 'Apple', Model: 'iPhone 15' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '45/1 45/1 0/1' } })
			.jpeg()
			.toBuffer()
		const standard = await enhance({ data: big }, { quality: 'standard', maxPixels })
		const hd = await enhance({ data: big }, { quality: 'hd', maxPixels })
		expect([standard.width, standard.height]).toEqual([STANDARD_MAX_SIDE, Math.round((2000 * STANDARD_MAX_SIDE) / 3000)])
		expect([hd.width, hd.height]).toEqual([3000, 2000])
		const metadata = await sharp(hd.data).metadata()
		expect(metadata.format).toBe('jpeg')
		expect(metadata.exif).toBeUndefined()
	})

	test('a colour cast is reduced (grey world), the picture is not changed beyond recognition', async () => {
		const tinted = await sharp(await roomJpeg(800, 600))
			.linear([1.0, 0.95, 0.7], [0, 0, 0])
			.jpeg()
			.toBuffer()
		const enhanced = await enhance({ data: tinted }, { quality: 'hd', maxPixels })
		const cast = async (image: Buffer) => {
			const [r, , b] = (await sharp(image).stats()).channels
			return r!.mean - b!.mean
		}
		expect(await cast(enhanced.data)).toBeLessThan((await cast(tinted)) * 0.8)
	})
})
