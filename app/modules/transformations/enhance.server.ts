import sharp from 'sharp'
import type { Quality } from './catalog.ts'
import type { EnhancementSource } from './source.server.ts'

/** Longest side of a Standard enhancement; HD keeps the original resolution. */
export const STANDARD_MAX_SIDE = 2560

/**
 * The local provider's enhancement (no AI, no account needed): EXIF orientation applied, grey-world
 * white balance, levels stretched between the 0.5th and 99.5th percentiles, a touch of saturation
 * and a light unsharp mask. Output: JPEG q90 tagged sRGB, no EXIF/GPS.
 */
export async function enhance(source: EnhancementSource, options: { quality: Quality; maxPixels: number }) {
	const decode = { limitInputPixels: options.maxPixels, failOn: 'error' } as const
	const open = () => sharp(source.data, source.raw ? { raw: source.raw, limitInputPixels: options.maxPixels } : decode)
	let base = open().autoOrient()
	if (options.quality === 'standard')
		base = base.resize({ width: STANDARD_MAX_SIDE, height: STANDARD_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
	// Materialise once (orientation, size, sRGB) so the statistics are measured on what is enhanced.
	const { data, info } = await base.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true })
	const raw = { width: info.width, height: info.height, channels: info.channels }
	const { channels } = await sharp(data, { raw }).stats()
	const means = channels.slice(0, 3).map((channel) => channel.mean)
	const grey = means.reduce((sum, mean) => sum + mean, 0) / means.length
	// Grey world, damped by half and bounded: a sunset must stay warm, only casts are corrected.
	const gains = means.map((mean) => Math.min(1.25, Math.max(0.8, 1 + (grey / Math.max(mean, 1) - 1) * 0.5)))
	// Levels are measured on the white-balanced picture: materialise it (normalise inside one long
	// pipeline made libvips recompute it, 3× slower).
	const levelled = await sharp(data, { raw })
		.linear(gains, [0, 0, 0])
		.normalise({ lower: 0.5, upper: 99.5 })
		.raw()
		.toBuffer({ resolveWithObject: true })
	// Saturation as a 3×3 matrix around Rec. 709 luminance (modulate's LCh round trip costs 4×).
	const output = await sharp(levelled.data, { raw: { width: levelled.info.width, height: levelled.info.height, channels: 3 } })
		.recomb(saturation(1.06))
		.sharpen({ sigma: 0.8, m1: 0.5, m2: 2 })
		.withIccProfile('srgb')
		.jpeg({ quality: 90, chromaSubsampling: '4:4:4' })
		.toBuffer({ resolveWithObject: true })
	return {
		data: output.data,
		width: output.info.width,
		height: output.info.height,
		contentType: 'image/jpeg' as const,
		ext: 'jpg' as const,
	}
}

type Matrix3 = [[number, number, number], [number, number, number], [number, number, number]]

/** The colour matrix that scales saturation by `s` and keeps luminance. */
function saturation(s: number): Matrix3 {
	const [r, g, b] = [0.2126, 0.7152, 0.0722]
	return [
		[r * (1 - s) + s, g * (1 - s), b * (1 - s)],
		[r * (1 - s), g * (1 - s) + s, b * (1 - s)],
		[r * (1 - s), g * (1 - s), b * (1 - s) + s],
	]
}
