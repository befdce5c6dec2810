import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, afterEach, describe, expect, test, vi, type MockInstance } from 'vitest'
import { SECRETS } from '#tests/fixtures/photos/make-fixtures.ts'
import { decodeHeic } from './heic.server.ts'
import { ImageError, processImage, sniffFormat, withWebpIccProfile, type ImageFormat, type Variant } from './image.server.ts'

const FIXTURES = path.resolve(import.meta.dirname, '../../../tests/fixtures/photos')
const fixture = (name: string) => path.join(FIXTURES, name)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-image-test-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

// Restored one by one: vi.restoreAllMocks() would also drop the setup's console.error guard.
const spies: MockInstance[] = []
afterEach(() => {
	for (const spy of spies.splice(0)) spy.mockRestore()
})
/** libheif-js logs parse errors with console.log: silenced where a test expects one. */
const quietLibheif = () => spies.push(vi.spyOn(console, 'log').mockImplementation(() => {}))

const exiftoolMissing = spawnSync('exiftool', ['-ver']).status !== 0
/** Runs `exiftool -j` on a file and returns its one JSON object. */
function exiftool(file: string, ...args: string[]): Record<string, unknown> {
	const result = spawnSync('exiftool', ['-j', '-G1', '-a', ...args, file], { encoding: 'utf8' })
	if (result.status !== 0) throw new Error(`exiftool failed: ${result.stderr}`)
	return (JSON.parse(result.stdout) as Record<string, unknown>[])[0]!
}

/** The ImageError code a promise rejects with, or 'resolved' (a failure never prints megabytes of pixels). */
async function outcome(promise: Promise<unknown>) {
	try {
		await promise
		return 'resolved'
	} catch (error) {
		if (!(error instanceof ImageError)) throw error
		return error.code
	}
}

/** The ftyp box of an ISO-BMFF file: size, major brand, minor version 0, compatible brands. */
function ftyp(major: string, ...compatible: string[]) {
	const box = Buffer.alloc(16 + 4 * compatible.length)
	box.writeUInt32BE(box.length)
	box.write('ftyp', 4, 'latin1')
	box.write(major, 8, 'latin1')
	compatible.forEach((brand, i) => box.write(brand, 16 + 4 * i, 'latin1'))
	return Buffer.concat([box, Buffer.alloc(32)]) // followed by the rest of a file
}

describe('sniffFormat', () => {
	test.each([
		['rotated-gps-p3.jpg', 'jpeg'],
		['truncated.jpg', 'jpeg'],
		['plain.png', 'png'],
		['bomb-50000x50000.png', 'png'],
		['p3.webp', 'webp'],
		['iphone-portrait.heic', 'heic'],
		['photo.jpg', null],
		['script.svg', null],
		['random.bin', null],
		['empty.jpg', null],
	] as const)('%s → %s, from its first 32 bytes', (name, expected) => {
		const head = fs.readFileSync(fixture(name)).subarray(0, 32)
		expect(sniffFormat(head)).toBe(expected)
	})

	test('null for an empty buffer, a GIF, a BMP and a cut-off JPEG marker', () => {
		expect(sniffFormat(new Uint8Array(0))).toBeNull()
		expect(sniffFormat(Buffer.from('GIF89a\x01\x00\x01\x00\x80\x00\x00', 'latin1'))).toBeNull()
		expect(sniffFormat(Buffer.from('BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00', 'latin1'))).toBeNull()
		expect(sniffFormat(Buffer.from([0xff, 0xd8]))).toBeNull()
	})

	test('HEIF brands: HEVC ones are heic, AVIF ones are not', () => {
		expect(sniffFormat(ftyp('heic', 'mif1', 'heic'))).toBe('heic')
		expect(sniffFormat(ftyp('heix', 'mif1'))).toBe('heic')
		expect(sniffFormat(ftyp('hevc', 'msf1'))).toBe('heic')
		expect(sniffFormat(ftyp('mif1', 'heic'))).toBe('heic')
		expect(sniffFormat(ftyp('mif1', 'miaf'))).toBe('heic')
		expect(sniffFormat(ftyp('avif', 'mif1', 'miaf'))).toBeNull()
		expect(sniffFormat(ftyp('mif1', 'avif', 'miaf'))).toBeNull()
		expect(sniffFormat(ftyp('isom', 'mp41'))).toBeNull() // an MP4 video
	})

	test('a WebP needs its VP8 chunk, not just RIFF….WEBP', () => {
		const webp = fs.readFileSync(fixture('p3.webp'))
		expect(sniffFormat(webp.subarray(0, 32))).toBe('webp')
		const wave = Buffer.from(webp.subarray(0, 32))
		wave.write('WAVEfmt ', 8, 'latin1')
		expect(sniffFormat(wave)).toBeNull()
	})
})

/** sRGB value of one pixel of a variant, converted with its embedded profile as a browser would. */
async function srgbPixel(variant: Variant, x: number, y: number) {
	const pixel = await sharp(variant.data).extract({ left: x, top: y, width: 1, height: 1 }).removeAlpha().raw().toBuffer()
	return [...pixel]
}

describe('processImage', () => {
	const cases: { name: string; format: ImageFormat; size: [number, number]; thumbnail: [number, number]; preview: [number, number] }[] = [
		// Stored 2400 × 1600 with EXIF Orientation 6: upright it is 1600 × 2400.
		{ name: 'rotated-gps-p3.jpg', format: 'jpeg', size: [1600, 2400], thumbnail: [267, 400], preview: [1067, 1600] },
		// Smaller than the preview: kept at 640 × 480, never upscaled.
		{ name: 'plain.png', format: 'png', size: [640, 480], thumbnail: [400, 300], preview: [640, 480] },
		{ name: 'p3.webp', format: 'webp', size: [1000, 750], thumbnail: [400, 300], preview: [1000, 750] },
		// Stored 2400 × 1600 with an irot of 270°: upright 1600 × 2400 (libheif applies it).
		{ name: 'iphone-portrait.heic', format: 'heic', size: [1600, 2400], thumbnail: [267, 400], preview: [1067, 1600] },
	]

	test.each(cases)(
		'$name: upright size, sha256, two WebP variants at the right sizes',
		async ({ name, format, size, thumbnail, preview }) => {
			const bytes = fs.readFileSync(fixture(name))
			const result = await processImage(fixture(name))
			expect(result.format).toBe(format)
			expect([result.width, result.height]).toEqual(size)
			expect(result.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'))
			expect(result.variants.map((v) => [v.kind, v.width, v.height, v.contentType])).toEqual([
				['thumbnail', ...thumbnail, 'image/webp'],
				['preview', ...preview, 'image/webp'],
			])
			for (const variant of result.variants) {
				const meta = await sharp(variant.data).metadata()
				expect([meta.format, meta.width, meta.height]).toEqual(['webp', variant.width, variant.height])
			}
		},
	)

	test.each(cases)('$name: variants carry no EXIF and no XMP, and keep the source ICC profile', async ({ name }) => {
		const source = await sharp(fixture(name)).metadata()
		const { variants } = await processImage(fixture(name))
		for (const variant of variants) {
			const meta = await sharp(variant.data).metadata()
			expect(meta.exif, variant.kind).toBeUndefined()
			expect(meta.xmp, variant.kind).toBeUndefined()
			expect(meta.orientation, variant.kind).toBeUndefined()
			// Byte for byte the same profile (so the same description); none when the source had none.
			expect(meta.icc, variant.kind).toEqual(source.icc)
			for (const secret of Object.values(SECRETS)) expect(variant.data.includes(secret), `${variant.kind} contains "${secret}"`).toBe(false)
		}
	})

	test('the fixtures do carry what the variants must not (else the privacy tests prove nothing)', async () => {
		for (const name of ['rotated-gps-p3.jpg', 'iphone-portrait.heic']) {
			const meta = await sharp(fixture(name)).metadata()
			expect(meta.exif, name).toBeDefined()
			expect(meta.xmp, name).toBeDefined()
			expect(meta.icc, name).toBeDefined()
			expect(fs.readFileSync(fixture(name)).includes(SECRETS.serial), name).toBe(true)
		}
	})

	test.each(['rotated-gps-p3.jpg', 'iphone-portrait.heic'])(
		'%s: turned the right way, and the colours survive (red corner of the stored top-left is top-right upright)',
		async (name) => {
			const { variants } = await processImage(fixture(name))
			for (const variant of variants) {
				// The stored 400 px red square, scaled to this variant (upright width 1600).
				const scale = variant.width / 1600
				const topRight = await srgbPixel(variant, Math.round(variant.width - 200 * scale), Math.round(200 * scale))
				const topLeft = await srgbPixel(variant, Math.round(200 * scale), Math.round(200 * scale))
				// sRGB (230, 20, 20) was written as Display P3; read without its profile it would be ~(211, 50, 38).
				for (const [channel, expected] of [230, 20, 20].entries())
					expect(Math.abs(topRight[channel]! - expected), `${variant.kind} top-right ${topRight}`).toBeLessThanOrEqual(8)
				expect(topLeft[0]! < 150, `${variant.kind} top-left ${topLeft} is not red`).toBe(true)
			}
		},
	)

	test.for(['rotated-gps-p3.jpg', 'iphone-portrait.heic'])(
		'%s: exiftool finds no EXIF, GPS or XMP in the variants',
		async (name, context) => {
			if (exiftoolMissing && process.env.CI) throw new Error('exiftool is missing in CI: .ci/run must install libimage-exiftool-perl')
			context.skip(exiftoolMissing, 'exiftool is not installed (apt-get install libimage-exiftool-perl)')
			const groups = ['-GPS:all', '-EXIF:all', '-XMP:all']
			// The command does see them in the source…
			const source = exiftool(fixture(name), ...groups)
			expect(Object.keys(source)).toEqual(expect.arrayContaining(['GPS:GPSLatitude', 'ExifIFD:SerialNumber', 'XMP-aux:SerialNumber']))
			const sourceProfile = exiftool(fixture(name), '-ICC_Profile:ProfileDescription')['ICC_Profile:ProfileDescription']
			expect(sourceProfile).toBeTruthy()
			// …and prints nothing but the file name for the variants, which keep the profile.
			const { variants } = await processImage(fixture(name))
			for (const variant of variants) {
				const file = path.join(tmp, `${path.basename(name)}-${variant.kind}.webp`)
				fs.writeFileSync(file, variant.data)
				expect(exiftool(file, ...groups), variant.kind).toEqual({ SourceFile: file })
				expect(exiftool(file, '-ICC_Profile:ProfileDescription')['ICC_Profile:ProfileDescription'], variant.kind).toBe(sourceProfile)
				expect(exiftool(file, '-validate', '-warning')['ExifTool:Validate'], variant.kind).toBe('OK')
			}
		},
	)

	test('a CMYK JPEG: its pixels are converted to sRGB and its CMYK profile is not carried onto an RGB WebP', async () => {
		const red = Buffer.alloc(300 * 200 * 3)
		for (let i = 0; i < red.length; i += 3) red.set([230, 20, 20], i)
		const file = path.join(tmp, 'cmyk.jpg')
		await sharp(red, { raw: { width: 300, height: 200, channels: 3 } })
			.withIccProfile('cmyk')
			.jpeg()
			.toFile(file)
		expect((await sharp(file).metadata()).space).toBe('cmyk')
		const { variants } = await processImage(file)
		for (const variant of variants) {
			const meta = await sharp(variant.data).metadata()
			expect([meta.space, meta.icc], variant.kind).toEqual(['srgb', undefined])
			const pixel = await srgbPixel(variant, 10, 10)
			for (const [channel, expected] of [230, 20, 20].entries())
				expect(Math.abs(pixel[channel]! - expected), `${variant.kind} ${pixel}`).toBeLessThanOrEqual(25)
		}
	})

	test.each([
		['truncated.jpg', 'corrupt'],
		// 65 bytes, no pixel data: only the header can have refused it.
		['bomb-50000x50000.png', 'too_many_pixels'],
		['photo.jpg', 'unsupported'],
		['script.svg', 'unsupported'],
		['random.bin', 'unsupported'],
		['empty.jpg', 'unsupported'],
	] as const)('%s is refused: %s', async (name, code) => {
		expect(await outcome(processImage(fixture(name)))).toBe(code)
	})

	test('a truncated HEIC is refused as corrupt', async () => {
		const heic = fs.readFileSync(fixture('iphone-portrait.heic'))
		const file = path.join(tmp, 'truncated.heic')
		fs.writeFileSync(file, heic.subarray(0, heic.length >> 1))
		quietLibheif()
		expect(await outcome(processImage(file))).toBe('corrupt')
	})

	test('maxPixels is a cap on the upright pixel count, inclusive', async () => {
		expect(await outcome(processImage(fixture('plain.png'), { maxPixels: 640 * 480 }))).toBe('resolved')
		expect(await outcome(processImage(fixture('plain.png'), { maxPixels: 640 * 480 - 1 }))).toBe('too_many_pixels')
		expect(await outcome(processImage(fixture('iphone-portrait.heic'), { maxPixels: 1600 * 2400 - 1 }))).toBe('too_many_pixels')
	})
})

describe('decodeHeic', () => {
	// The same module object heic.server.ts loads: spying on it sees every call it makes.
	const heicDecode = createRequire(import.meta.url)('heic-decode') as {
		all: (input: { buffer: Uint8Array }) => Promise<{ width: number; height: number; decode: () => Promise<unknown> }[]>
	}
	const heic = fs.readFileSync(fixture('iphone-portrait.heic'))

	/** Counts pixel decodes and the most that ran at the same time. */
	function watchDecodes() {
		const stats = { decodes: 0, running: 0, maxRunning: 0 }
		const all = heicDecode.all.bind(heicDecode)
		const spy = vi.spyOn(heicDecode, 'all').mockImplementation(async (input) => {
			const images = await all(input)
			for (const image of images) {
				const decode = image.decode.bind(image)
				image.decode = async () => {
					stats.decodes++
					stats.maxRunning = Math.max(stats.maxRunning, ++stats.running)
					try {
						return await decode()
					} finally {
						stats.running--
					}
				}
			}
			return images
		})
		spies.push(spy)
		return stats
	}

	test('refuses an image over the cap from its header, without decoding pixels', async () => {
		const stats = watchDecodes()
		expect(await outcome(decodeHeic(heic, { maxPixels: 1600 * 2400 - 1 }))).toBe('too_many_pixels')
		expect(stats.decodes).toBe(0)
		const image = await decodeHeic(heic, { maxPixels: 1600 * 2400 })
		expect(stats.decodes).toBe(1)
		expect([image.width, image.height, image.data.length]).toEqual([1600, 2400, 1600 * 2400 * 4])
	})

	test('decodes one image at a time, however many are asked for at once', async () => {
		const stats = watchDecodes()
		const images = await Promise.all([1, 2, 3].map(() => decodeHeic(heic, { maxPixels: 1e8 })))
		expect(images.map((image) => image.data.length)).toEqual(Array(3).fill(1600 * 2400 * 4))
		expect(stats.decodes).toBe(3)
		expect(stats.maxRunning).toBe(1)
	})

	test('the queue goes on after a failure', async () => {
		quietLibheif()
		const results = await Promise.all([
			outcome(decodeHeic(heic.subarray(0, 2000), { maxPixels: 1e8 })),
			outcome(decodeHeic(Buffer.from('not a heic file at all, just text'), { maxPixels: 1e8 })),
			outcome(decodeHeic(heic, { maxPixels: 1e8 })),
		])
		expect(results).toEqual(['corrupt', 'unsupported', 'resolved'])
	})

	test('sharp’s own libvips cannot decode this HEVC HEIC (why heic-decode is here; decision 008)', async () => {
		const meta = await sharp(heic).metadata() // the header it can read…
		expect([meta.format, meta.compression, meta.width, meta.height]).toEqual(['heif', 'hevc', 1600, 2400])
		await expect(sharp(heic).toBuffer()).rejects.toThrow(/HEVC/) // …the pixels it cannot
	})
})

test('withWebpIccProfile also handles a WebP that already has a VP8X header (alpha)', async () => {
	const rgba = Buffer.alloc(8 * 6 * 4, 128)
	const webp = await sharp(rgba, { raw: { width: 8, height: 6, channels: 4 } })
		.webp()
		.toBuffer()
	expect(webp.toString('latin1', 12, 16)).toBe('VP8X')
	const icc = (await sharp(fixture('p3.webp')).metadata()).icc!
	const tagged = withWebpIccProfile(webp, icc, 8, 6)
	const meta = await sharp(tagged).metadata()
	expect([meta.width, meta.height, meta.hasAlpha]).toEqual([8, 6, true])
	expect(meta.icc).toEqual(icc)
})
