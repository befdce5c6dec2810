// Bench: processImage on a 24-megapixel JPEG (thumbnail + preview WebP, with the magic-byte sniff,
// sha256, header read and pixel cap) against bare sharp producing the same two outputs from the same
// file (same resize and WebP settings, run the same way: both pipelines at once), alternated in
// this run. Goal (issue 4): processImage <= 1.3 × bare. Never fails on a timing; fails when an
// output differs between the two (the comparison would be meaningless).
//
// Settings (env): BENCH_VARIANT_ROUNDS (7) measured rounds of each, after one warm-up of each.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import sharp from 'sharp'
import { processImage, variantSizes, webpOptions } from '#app/modules/photos/image.server.ts'
import { Cleanup, intSetting, median, table } from './lib/harness.ts'

export const GOAL_RATIO = 1.3
const WIDTH = 6000
const HEIGHT = 4000

/**
 * Writes a photo-like JPEG: gradients, waves and per-pixel noise (so it compresses like a camera
 * file, several MB, not like a flat test card), Display P3 profile, quality 90.
 */
export async function makeTexturedJpeg(file: string, width: number, height: number) {
	const pixels = Buffer.alloc(width * height * 3)
	let seed = 0x2545f491 // xorshift32: fast and the same picture every run
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			seed ^= seed << 13
			seed ^= seed >>> 17
			seed ^= seed << 5
			const noise = (seed & 31) - 16
			const wave = 40 * Math.sin(x / 37 + y / 53) * Math.cos(y / 29)
			const i = (y * width + x) * 3
			pixels[i] = Math.max(0, Math.min(255, 40 + (150 * x) / width + wave + noise))
			pixels[i + 1] = Math.max(0, Math.min(255, 60 + (140 * y) / height - wave + noise))
			pixels[i + 2] = Math.max(0, Math.min(255, 110 + wave / 2 + ((noise * 3) >> 1)))
		}
	}
	await sharp(pixels, { raw: { width, height, channels: 3 } })
		.withIccProfile('p3')
		.jpeg({ quality: 90 })
		.toFile(file)
}

/** The same two outputs as processImage, with nothing else: no sniff, hash, header read or cap check. */
async function bareSharp(file: string, maxPixels: number) {
	return Promise.all(
		[variantSizes.thumbnail, variantSizes.preview].map((size) =>
			sharp(file, { limitInputPixels: maxPixels, failOn: 'error' })
				.autoOrient()
				.resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
				.keepIccProfile()
				.webp(webpOptions)
				.toBuffer({ resolveWithObject: true }),
		),
	)
}

export default async function photoVariants() {
	const rounds = intSetting('BENCH_VARIANT_ROUNDS', 7, 1, 50)
	const maxPixels = 100_000_000
	const cleanup = new Cleanup()
	// libvips caches operations by file name: a repeated bare load of the same path would hit it,
	// while the worker never sees the same file twice. Off for both sides.
	const cacheBefore = sharp.cache()
	sharp.cache(false)
	cleanup.defer('restore the sharp cache', () => {
		sharp.cache({ memory: cacheBefore.memory.max, files: cacheBefore.files.max, items: cacheBefore.items.max })
	})
	try {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-bench-variants-'))
		cleanup.defer('remove the temporary directory', () => fs.rmSync(dir, { recursive: true, force: true }))
		const file = path.join(dir, 'photo-24mp.jpg')
		let started = performance.now()
		await makeTexturedJpeg(file, WIDTH, HEIGHT)
		const bytes = fs.statSync(file).size
		console.log(
			`photo-variants: ${WIDTH} × ${HEIGHT} JPEG (${(bytes / 1e6).toFixed(1)} MB, made in ${((performance.now() - started) / 1000).toFixed(1)} s), ` +
				`thumbnail ${variantSizes.thumbnail} px + preview ${variantSizes.preview} px WebP q${webpOptions.quality}, ` +
				`1 warm-up then ${rounds} alternated rounds, sharp concurrency ${sharp.concurrency()}`,
		)

		// Same outputs, or the comparison means nothing.
		const app = await processImage(file, { maxPixels })
		const bare = await bareSharp(file, maxPixels)
		const appSizes = app.variants.map((v) => `${v.width}×${v.height}`)
		const bareSizes = bare.map(({ info }) => `${info.width}×${info.height}`)
		if (appSizes.join() !== bareSizes.join()) throw new Error(`outputs differ: processImage ${appSizes} vs bare ${bareSizes}`)
		const sizeRatio = app.variants.reduce((sum, v) => sum + v.data.length, 0) / bare.reduce((sum, { data }) => sum + data.length, 0)
		if (Math.abs(sizeRatio - 1) > 0.01)
			throw new Error(`output bytes differ by ${((sizeRatio - 1) * 100).toFixed(1)} %: not the same encode`)

		const runs: { round: number; target: 'bare' | 'processImage'; ms: number }[] = []
		for (let round = 1; round <= rounds; round++) {
			// Alternate which goes first, so neither always runs on a warmer machine.
			const order = round % 2 ? (['bare', 'processImage'] as const) : (['processImage', 'bare'] as const)
			for (const target of order) {
				started = performance.now()
				if (target === 'bare') await bareSharp(file, maxPixels)
				else await processImage(file, { maxPixels })
				const ms = performance.now() - started
				runs.push({ round, target, ms })
				console.log(`  round ${round} ${target.padEnd(12)} ${ms.toFixed(0).padStart(6)} ms`)
			}
		}
		const of = (target: string) => runs.filter((run) => run.target === target).map((run) => run.ms)
		const bareMs = median(of('bare'))
		const appMs = median(of('processImage'))
		const ratio = appMs / bareMs
		console.log()
		console.log(
			table([
				['target', 'median ms', 'min ms', 'max ms'],
				...(['bare', 'processImage'] as const).map((target) => [
					target,
					median(of(target)).toFixed(0),
					Math.min(...of(target)).toFixed(0),
					Math.max(...of(target)).toFixed(0),
				]),
			]),
		)
		console.log(
			`processImage/bare (medians ${appMs.toFixed(0)} / ${bareMs.toFixed(0)} ms): ${ratio.toFixed(2)}×  (goal <= ${GOAL_RATIO}×: ${ratio <= GOAL_RATIO ? 'met' : 'NOT met'})`,
		)
		const fixed = (value: number) => Number(value.toFixed(1))
		const summary = {
			bench: 'photo-variants',
			source: { width: WIDTH, height: HEIGHT, bytes },
			variants: app.variants.map((v) => ({ kind: v.kind, width: v.width, height: v.height, bytes: v.data.length })),
			rounds,
			bareMs: fixed(bareMs),
			processImageMs: fixed(appMs),
			ratio: Number(ratio.toFixed(3)),
			goal: GOAL_RATIO,
			met: ratio <= GOAL_RATIO,
			runs: runs.map((run) => ({ ...run, ms: fixed(run.ms) })),
		}
		console.log(JSON.stringify(summary))
		return {
			name: 'photo-variants',
			line: `photo-variants: processImage ${appMs.toFixed(0)} ms vs bare sharp ${bareMs.toFixed(0)} ms on a 24 MP JPEG = ${ratio.toFixed(2)}× (goal <= ${GOAL_RATIO}×)`,
			summary,
		}
	} finally {
		await cleanup.run()
	}
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	photoVariants().then(
		() => process.exit(0),
		(error: unknown) => {
			console.error(error instanceof Error ? error.message : error)
			process.exit(1)
		},
	)
}
