// Bench: decoding a 12-megapixel iPhone-size HEIC (4032 × 3024, made here with heif-enc) through
// decodeHeic (heic-decode, wasm) and through processImage (decode + two WebP variants), against
// sharp decoding the same picture as a JPEG, for scale. Reports time per decode and each process's
// peak RSS and its growth over the process's own baseline (each measurement runs in a fresh child
// process, since peak RSS only ever grows). Never fails on a timing; skips (and says so) when
// heif-enc is missing (Debian: apt-get install libheif-examples).
//
// Settings (env): BENCH_HEIC_DECODES (5) decodes per measurement, after one warm-up.
import { fork, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import sharp from 'sharp'
import { decodeHeic } from '#app/modules/photos/heic.server.ts'
import { processImage } from '#app/modules/photos/image.server.ts'
import { Cleanup, intSetting, median, stopChild, table } from './lib/harness.ts'
import { makeTexturedJpeg } from './photo-variants.ts'

const WIDTH = 4032
const HEIGHT = 3024
const MAX_PIXELS = 100_000_000
const MB = 1024 * 1024

const modes = {
	'sharp JPEG decode': 'jpeg',
	decodeHeic: 'heic',
	'processImage HEIC': 'process-heic',
	'processImage JPEG': 'process-jpeg',
} as const
type Mode = (typeof modes)[keyof typeof modes]
type ChildReport = { baselineRss: number; peakRss: number; ms: number[]; settledRss: [number, number]; width: number; height: number }

/** In a child process: `decodes` + 1 runs of one mode; reports times and memory to the parent. */
async function child(mode: Mode, file: string, decodes: number) {
	// Before any work: what the process weighs with Node, tsx, sharp and our modules loaded.
	const baselineRss = process.memoryUsage().rss
	const settled: [number, number] = [0, 0]
	const settledRss = () => {
		globalThis.gc?.()
		return process.memoryUsage().rss
	}
	const ms: number[] = []
	let size = { width: 0, height: 0 }
	for (let i = 0; i <= decodes; i++) {
		const started = performance.now()
		if (mode === 'jpeg') {
			const { info } = await sharp(file).raw().toBuffer({ resolveWithObject: true })
			size = info
		} else if (mode === 'heic') {
			size = await decodeHeic(fs.readFileSync(file), { maxPixels: MAX_PIXELS })
		} else {
			size = await processImage(file, { maxPixels: MAX_PIXELS })
		}
		if (i > 0) ms.push(performance.now() - started) // the first is a warm-up (wasm compile, libvips init)
		// Leak check: RSS after a full GC, once after the warm-up and once at the end (peak RSS is read before the last GC).
		if (i === 0) settled[0] = settledRss()
	}
	const peakRss = process.resourceUsage().maxRSS * 1024
	settled[1] = settledRss()
	const report: ChildReport = {
		baselineRss,
		peakRss,
		ms,
		settledRss: settled,
		width: size.width,
		height: size.height,
	}
	process.send!(report, () => process.disconnect())
}

function runChild(cleanup: Cleanup, mode: Mode, file: string, decodes: number) {
	return new Promise<ChildReport>((resolve, reject) => {
		const worker = fork(import.meta.filename, ['--child', mode, file, String(decodes)], {
			execArgv: ['--import', 'tsx', '--expose-gc'],
			// As in production (STACK-NOTES: the container sets it); it keeps glibc's RSS honest.
			env: { ...process.env, MALLOC_ARENA_MAX: '2' },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		})
		cleanup.defer(`stop the ${mode} child`, () => stopChild(worker, 5_000))
		let report: ChildReport | undefined
		worker.once('message', (message: ChildReport) => (report = message))
		worker.once('error', reject)
		worker.once('exit', (code) =>
			report && code === 0 ? resolve(report) : reject(new Error(`the ${mode} child exited with code ${code}`)),
		)
	})
}

export default async function heicDecodeBench() {
	const decodes = intSetting('BENCH_HEIC_DECODES', 5, 1, 50)
	const heifEnc = spawnSync('heif-enc', ['--help'], { encoding: 'utf8' })
	if (heifEnc.error) {
		const line = 'heic-decode: SKIPPED — heif-enc is not installed (Debian: apt-get install libheif-examples), no HEIC to decode'
		console.log(line)
		return { name: 'heic-decode', line, summary: { bench: 'heic-decode', skipped: 'heif-enc missing' } }
	}
	const cleanup = new Cleanup()
	try {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-bench-heic-'))
		cleanup.defer('remove the temporary directory', () => fs.rmSync(dir, { recursive: true, force: true }))
		const jpeg = path.join(dir, 'photo-12mp.jpg')
		const heic = path.join(dir, 'photo-12mp.heic')
		await makeTexturedJpeg(jpeg, WIDTH, HEIGHT)
		// Quality 50 gives a file of iPhone-like size (an iPhone 12 MP HEIC is ~1.5–3 MB).
		const encode = spawnSync('heif-enc', ['-q', '50', '-o', heic, jpeg], { encoding: 'utf8' })
		if (encode.status !== 0) throw new Error(`heif-enc failed: ${encode.stderr || encode.error?.message}`)
		const version = /libheif version: ([\d.]+)/.exec(heifEnc.stdout + heifEnc.stderr)?.[1] ?? '?'
		console.log(
			`heic-decode: ${WIDTH} × ${HEIGHT} HEIC (${(fs.statSync(heic).size / 1e6).toFixed(1)} MB, heif-enc ${version} -q 50, one HEVC image, not a tile grid) ` +
				`and the same picture as JPEG (${(fs.statSync(jpeg).size / 1e6).toFixed(1)} MB, q90); 1 warm-up then ${decodes} decodes per child process`,
		)

		const results: { target: string; report: ChildReport }[] = []
		for (const [target, mode] of Object.entries(modes)) {
			const report = await runChild(cleanup, mode, mode.endsWith('jpeg') ? jpeg : heic, decodes)
			if (report.width * report.height !== WIDTH * HEIGHT) throw new Error(`${target} gave ${report.width} × ${report.height}`)
			results.push({ target, report })
			console.log(
				`  ${target.padEnd(18)} ${median(report.ms).toFixed(0).padStart(6)} ms per decode, peak RSS ${(report.peakRss / MB).toFixed(0)} MB`,
			)
		}

		const row = ({ target, report }: (typeof results)[number]) => ({
			target,
			medianMs: Math.round(median(report.ms)),
			minMs: Math.round(Math.min(...report.ms)),
			maxMs: Math.round(Math.max(...report.ms)),
			baselineRssMb: Math.round(report.baselineRss / MB),
			peakRssMb: Math.round(report.peakRss / MB),
			growthMb: Math.round((report.peakRss - report.baselineRss) / MB),
			settledRssMb: report.settledRss.map((rss) => Math.round(rss / MB)),
		})
		const rows = results.map(row)
		console.log()
		console.log(
			table([
				['target', 'median ms', 'min ms', 'max ms', 'baseline RSS MB', 'peak RSS MB', 'growth MB', 'RSS after GC: 1st → last MB'],
				...rows.map((r) => [r.target, r.medianMs, r.minMs, r.maxMs, r.baselineRssMb, r.peakRssMb, r.growthMb, r.settledRssMb.join(' → ')]),
			]),
		)
		const [jpegRow, heicRow, processRow] = rows as [(typeof rows)[number], (typeof rows)[number], (typeof rows)[number]]
		const slower = heicRow.medianMs / jpegRow.medianMs
		console.log(
			`decodeHeic is ${slower.toFixed(1)}× sharp's JPEG decode of the same picture; its process peaks at ${heicRow.peakRssMb} MB RSS`,
		)
		const summary = {
			bench: 'heic-decode',
			width: WIDTH,
			height: HEIGHT,
			decodes,
			heifEnc: version,
			rows,
			heicVsJpeg: Number(slower.toFixed(2)),
		}
		console.log(JSON.stringify(summary))
		return {
			name: 'heic-decode',
			line:
				`heic-decode: 12 MP HEIC ${heicRow.medianMs} ms per decode (sharp JPEG ${jpegRow.medianMs} ms, ${slower.toFixed(1)}×), ` +
				`peak RSS ${heicRow.peakRssMb} MB (+${heicRow.growthMb} MB); processImage ${processRow.medianMs} ms, peak ${processRow.peakRssMb} MB`,
			summary,
		}
	} finally {
		await cleanup.run()
	}
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	if (process.argv[2] === '--child') {
		await child(process.argv[3] as Mode, process.argv[4]!, Number(process.argv[5]))
	} else {
		heicDecodeBench().then(
			() => process.exit(0),
			(error: unknown) => {
				console.error(error instanceof Error ? error.message : error)
				process.exit(1)
			},
		)
	}
}
