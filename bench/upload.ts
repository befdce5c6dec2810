// Bench: a photo upload through the real HTTP route (POST multipart /projects/:id/upload, logged in,
// CSRF header, JSON answer, production build, local storage driver, worker off) against copying the
// same file to a new file on the same filesystem with fs streams and an fsync, both measured in
// this run, alternated, for a 5 MB and a 50 MB file. Goals (issue 4): upload throughput >= 50 % of
// the copy's; peak RSS growth of the app during the 50 MB upload <= 64 MB and within 16 MB of the
// 5 MB one's (constant memory). MB = 10^6 bytes throughout, RSS included.
//
// - Throughput: one app, one warm-up upload, then rounds of (copy, bare, upload) per size in a
//   rotating order. `bare` is a reference without a goal: a node:http server (its own process)
//   piping the request body to a file with an fsync, i.e. what HTTP on this machine costs before
//   any application code. Stored objects and copies are deleted after each run (outside the
//   timing): a filesystem filling with fresh blocks slows every later write. Each round also
//   uploads 100 kB to the app and to bare: the per-request cost, which weighs on the 5 MB ratio.
// - Memory: the app's VmRSS sampled every 5 ms from /proc during the upload, growth = max during −
//   value just before (and VmHWM after a reset through clear_refs, as a check on the sampling).
//   Goals are judged on a fresh app per size and round (two small warm-up uploads, then a wait
//   until its RSS is steady, so lazy initialisation is not counted), since a process keeps the
//   memory it once used: in a warm app a second 50 MB upload grows by ~nothing. The warm figures
//   are printed too.
//
// The client streams the file from disk (multipart framing around fs.createReadStream,
// Content-Length set, as a browser's XHR sends a FormData) and times from the request's start to
// the whole JSON answer. The files are a real JPEG header (SOI, APP0, DQT, SOF… of a 64 × 64 sharp
// JPEG), random bytes and an EOI: they pass the route's checks (magic bytes, completeness, pixel
// cap); nothing decodes them since the worker is off. Never fails on a timing; fails when an upload
// is refused or its bytes do not land in storage (the measurement would be of something else).
//
// Settings (env): BENCH_ROUNDS (7) throughput rounds, BENCH_RSS_ROUNDS (3) fresh apps per size.
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'
import sharp from 'sharp'
import { sniffFormat } from '#app/modules/photos/image.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import {
	BROWSER_UA,
	Cleanup,
	createLoggedInUser,
	ensureBuild,
	freePort,
	intSetting,
	median,
	newAppConfig,
	processCpuSeconds,
	startApp,
	startDatabase,
	stopChild,
	table,
	type AppConfig,
} from './lib/harness.ts'

export const GOAL_RATIO_PCT = 50
export const GOAL_RSS_MB = 64
export const GOAL_RSS_SPREAD_MB = 16
const MB = 1e6
const SIZES = [
	{ label: '5 MB', bytes: 5_000_000 },
	// Under UPLOAD_MAX_BYTES' default (50 MiB = 52,428,800 bytes).
	{ label: '50 MB', bytes: 50_000_000 },
] as const
const WARM_UP_BYTES = 100_000
const SAMPLE_MS = 5
const REQUEST_TIMEOUT_MS = 120_000

/** A JPEG as far as the upload can tell: a real header, random bytes, FF D9. Written in chunks. */
export async function makeJpegLike(file: string, bytes: number) {
	const noise = crypto.randomBytes(64 * 64 * 3)
	const small = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } })
		.jpeg({ quality: 90 })
		.toBuffer()
	const header = small.subarray(0, 600)
	if (small.length <= header.length || sniffFormat(header) !== 'jpeg')
		throw new Error('the sharp JPEG header is not what the bench expects')
	const fd = fs.openSync(file, 'w')
	try {
		fs.writeSync(fd, header)
		const chunk = Buffer.alloc(1024 * 1024)
		let left = bytes - header.length - 2
		while (left > 0) {
			const part = chunk.subarray(0, Math.min(chunk.length, left))
			crypto.randomFillSync(part)
			fs.writeSync(fd, part)
			left -= part.length
		}
		fs.writeSync(fd, Buffer.from([0xff, 0xd9]))
	} finally {
		fs.closeSync(fd)
	}
	if (fs.statSync(file).size !== bytes) throw new Error(`${file} is not ${bytes} bytes`)
}

/**
 * The app's settings for the upload benches and diagnostics: worker off, local storage in
 * `storageDir`, room for files up to 60 MB, and an upload rate limit they never reach.
 */
export function uploadAppEnv(storageDir: string) {
	return {
		RUN_WORKER: 'false',
		STORAGE_DIR: storageDir,
		S3_BUCKET: '',
		UPLOAD_MAX_BYTES: String(60 * 1024 * 1024),
		UPLOADS_PER_USER_PER_HOUR: '1000000',
	}
}

/** The headers of an upload as the page's uploader sends it: our own CSRF token in the cookie and the header, JSON answer. */
export function uploadHeaders(sessionCookie: string) {
	const csrfToken = crypto.randomBytes(32).toString('base64url')
	const cookie = [...sessionCookie.split('; ').filter((part) => !part.startsWith('__csrf=')), `__csrf=${csrfToken}`].join('; ')
	return { cookie, 'x-csrf-token': csrfToken, accept: 'application/json', 'user-agent': BROWSER_UA }
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM); NaN when unreadable. */
export function procStatus(pid: number, field: 'VmRSS' | 'VmHWM') {
	try {
		const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
		return match ? Number(match[1]) * 1024 : NaN
	} catch {
		return NaN
	}
}

/** Resets VmHWM to the current RSS (Linux >= 4.0, needs ptrace rights over the process). */
function resetHwm(pid: number) {
	try {
		fs.writeFileSync(`/proc/${pid}/clear_refs`, '5')
		return true
	} catch {
		return false
	}
}

/**
 * Runs `work` while sampling the process's RSS: growth = max(VmRSS during) − VmRSS just before;
 * also the VmHWM growth when the kernel let us reset it, and the CPU the process (all its threads) used.
 */
export async function withRss<T>(pid: number, work: () => Promise<T>) {
	const hwmReset = resetHwm(pid)
	const before = procStatus(pid, 'VmRSS')
	const cpuBefore = processCpuSeconds(pid)
	let peak = before
	const timer = setInterval(() => {
		const now = procStatus(pid, 'VmRSS')
		if (now > peak) peak = now
	}, SAMPLE_MS)
	try {
		const result = await work()
		peak = Math.max(peak, procStatus(pid, 'VmRSS'))
		const hwm = hwmReset ? procStatus(pid, 'VmHWM') : NaN
		const cpuMs = 1000 * (processCpuSeconds(pid) - cpuBefore)
		return { result, rssGrowthMb: (peak - before) / MB, hwmGrowthMb: (hwm - before) / MB, cpuMs }
	} finally {
		clearInterval(timer)
	}
}

/**
 * Waits until a freshly started process stops growing (it goes on initialising for a second or
 * two after answering /healthz, which would be counted as the upload's): at least 2 s, then until
 * VmRSS moved less than 0.5 MB over the last second, at most 15 s.
 */
async function settle(pid: number) {
	const started = Date.now()
	const samples: number[] = []
	while (Date.now() - started < 15_000) {
		await new Promise((resolve) => setTimeout(resolve, 200))
		samples.push(procStatus(pid, 'VmRSS'))
		const last = samples.slice(-6)
		if (Date.now() - started >= 2_000 && last.length === 6 && Math.max(...last) - Math.min(...last) < 0.5 * MB) return
	}
}

/**
 * POSTs `file` as the one part of a multipart body, streamed from disk; resolves with the time
 * from the request's start to the whole response, its status and its body.
 */
export function uploadFile(url: string, file: string, bytes: number, headers: Record<string, string>) {
	const boundary = `----RenzoBench${crypto.randomBytes(12).toString('hex')}`
	const preamble = Buffer.from(
		`--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="${path.basename(file)}"\r\nContent-Type: image/jpeg\r\n\r\n`,
	)
	const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`)
	return new Promise<{ ms: number; status: number; body: string }>((resolve, reject) => {
		let settled = false
		const fail = (error: Error) => {
			if (settled) return
			settled = true
			request.destroy()
			reject(error)
		}
		const started = performance.now()
		const request = http.request(url, {
			method: 'POST',
			agent: false,
			headers: {
				...headers,
				'content-type': `multipart/form-data; boundary=${boundary}`,
				'content-length': String(preamble.length + bytes + epilogue.length),
			},
		})
		request.setTimeout(REQUEST_TIMEOUT_MS, () => fail(new Error(`no answer to the upload within ${REQUEST_TIMEOUT_MS / 1000} s`)))
		request.on('error', fail)
		request.on('response', (response) => {
			const chunks: Buffer[] = []
			response.on('data', (chunk: Buffer) => chunks.push(chunk))
			response.on('error', fail)
			response.on('end', () => {
				if (settled) return
				settled = true
				resolve({ ms: performance.now() - started, status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })
			})
		})
		request.write(preamble)
		const source = fs.createReadStream(file)
		source.on('error', fail)
		source.on('end', () => request.end(epilogue))
		source.pipe(request, { end: false })
	})
}

/** The baseline: the same bytes to a new file on the same filesystem, fsync'd, with fs streams. */
export async function copyFile(file: string, target: string) {
	const started = performance.now()
	await pipeline(fs.createReadStream(file), fs.createWriteStream(target, { flush: true }))
	return performance.now() - started
}

// The reference server, plain CommonJS run with `node -e`: the body to a file, fsync, JSON answer.
const BARE_SINK = `
const fs = require('node:fs'), http = require('node:http'), path = require('node:path')
const { pipeline } = require('node:stream/promises')
let n = 0
const server = http.createServer((req, res) => {
	const file = path.join(process.env.SINK_DIR, 'sink-' + n++ + '.bin')
	pipeline(req, fs.createWriteStream(file, { flush: true })).then(
		() => res.setHeader('content-type', 'application/json').end(JSON.stringify({ files: [{ ok: true, file }] })),
		(error) => res.writeHead(500).end(String(error)),
	)
})
server.listen(0, '127.0.0.1', () => process.send(server.address().port))
`

async function startBareSink(cleanup: Cleanup, dir: string) {
	const child = spawn(process.execPath, ['-e', BARE_SINK], {
		env: { ...process.env, SINK_DIR: dir },
		stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
	})
	cleanup.defer('stop the bare sink', () => stopChild(child, 5_000))
	const port = await new Promise<number>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('the bare sink did not start within 30 s')), 30_000)
		child.once('message', (message) => {
			clearTimeout(timer)
			resolve(Number(message))
		})
		child.once('exit', (code) => reject(new Error(`the bare sink exited (code ${code})`)))
	})
	return { url: `http://127.0.0.1:${port}/`, child }
}

type Target = 'disk' | 'bare' | 'upload'
type Run = { size: string; bytes: number; target: Target; round: number; ms: number; rssGrowthMb?: number; cpuMs?: number }
type ColdRun = { size: string; bytes: number; round: number; ms: number; rssGrowthMb: number; hwmGrowthMb: number }

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null)
const mbps = (bytes: number, ms: number) => bytes / MB / (ms / 1000)
const mb = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '—')

export default async function uploadBench() {
	const rounds = intSetting('BENCH_ROUNDS', 7, 1, 30)
	const rssRounds = intSetting('BENCH_RSS_ROUNDS', 3, 1, 10)
	const cleanup = new Cleanup()
	try {
		ensureBuild()
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-bench-upload-'))
		cleanup.defer('remove the temporary directory', () => fs.rmSync(dir, { recursive: true, force: true }))
		const storageDir = path.join(dir, 'storage')
		const sinkDir = path.join(dir, 'sink')
		fs.mkdirSync(sinkDir)
		const files = new Map<number, string>()
		for (const bytes of [WARM_UP_BYTES, ...SIZES.map((size) => size.bytes)]) {
			const file = path.join(dir, `upload-${bytes}.jpg`)
			await makeJpegLike(file, bytes)
			files.set(bytes, file)
		}

		const db = await startDatabase(cleanup)
		const config = await newAppConfig(db.url)
		const appOptions = { env: uploadAppEnv(storageDir) }
		const app = await startApp(cleanup, config, appOptions)
		const user = await createLoggedInUser(config, { projects: 1, photosPerProject: 0 })
		const projectId = user.projectIds[0]!
		const headers = uploadHeaders(user.cookie)
		const bare = await startBareSink(cleanup, sinkDir)

		/** One upload to an app, checked (accepted, every byte stored), its object then deleted. */
		const upload = async (target: { url: string; child: { pid?: number }; output: string[] }, bytes: number) => {
			const pid = target.child.pid
			if (pid === undefined || Number.isNaN(procStatus(pid, 'VmRSS'))) throw new Error('cannot read the app process RSS from /proc')
			const measured = await withRss(pid, () => uploadFile(`${target.url}/projects/${projectId}/upload`, files.get(bytes)!, bytes, headers))
			const { result } = measured
			let answer: { files?: { ok?: boolean; photoId?: string; message?: string }[] } = {}
			try {
				answer = JSON.parse(result.body) as typeof answer
			} catch {
				// reported below
			}
			const first = answer.files?.[0]
			if (result.status !== 200 || answer.files?.length !== 1 || first?.ok !== true || !first.photoId)
				throw new Error(
					`the upload of ${bytes} bytes was not accepted (HTTP ${result.status}): ${result.body.slice(0, 300)}\n` +
						`app output:\n${target.output.slice(-15).join('\n')}`,
				)
			const stored = path.join(storageDir, storageKeys.original(user.userId, projectId, first.photoId, 'jpg'))
			const size = fs.statSync(stored, { throwIfNoEntry: false })?.size
			if (size !== bytes) throw new Error(`the stored object ${stored} has ${size ?? 'no'} bytes, not ${bytes}`)
			fs.rmSync(stored)
			return { ms: result.ms, rssGrowthMb: measured.rssGrowthMb, hwmGrowthMb: measured.hwmGrowthMb, cpuMs: measured.cpuMs }
		}
		const toBare = async (bytes: number) => {
			const result = await uploadFile(bare.url, files.get(bytes)!, bytes, {})
			const file = result.status === 200 ? (JSON.parse(result.body) as { files: { file: string }[] }).files[0]?.file : undefined
			const size = file ? fs.statSync(file, { throwIfNoEntry: false })?.size : undefined
			// The sink stores the whole multipart body: the file and its framing.
			if (!file || size === undefined || size < bytes)
				throw new Error(`the bare sink answered ${result.status}: ${result.body.slice(0, 300)}`)
			fs.rmSync(file)
			return { ms: result.ms }
		}
		let copies = 0
		const disk = async (bytes: number) => {
			const target = path.join(dir, `copy-${++copies}.bin`)
			const ms = await copyFile(files.get(bytes)!, target)
			const size = fs.statSync(target).size
			fs.rmSync(target)
			if (size !== bytes) throw new Error(`the copy has ${size} bytes, not ${bytes}`)
			return { ms }
		}

		console.log(
			`upload: POST multipart /projects/:id/upload (logged in, CSRF header, JSON answer, local storage in ${os.tmpdir()}, worker off) ` +
				`against a fs-stream copy + fsync on the same filesystem, and a bare node:http server writing the body to a file; ` +
				`${SIZES.map((size) => size.label).join(' and ')}; one warm-up then ${rounds} rounds in rotating order; ` +
				`memory: ${rssRounds} fresh app(s) per size, RSS sampled every ${SAMPLE_MS} ms`,
		)
		// Warm-up: first requests compile the route's code paths and open the pools; not counted.
		await disk(SIZES[0].bytes)
		await toBare(SIZES[0].bytes)
		await upload(app, SIZES[0].bytes)

		const runs: Run[] = []
		const fixedCost = { upload: [] as number[], bare: [] as number[] }
		const orders: Target[][] = [
			['disk', 'bare', 'upload'],
			['upload', 'disk', 'bare'],
			['bare', 'upload', 'disk'],
		]
		for (let round = 1; round <= rounds; round++) {
			for (const { label, bytes } of SIZES) {
				// Rotate who goes first, so a drift of the machine hits all alike.
				for (const target of orders[(round - 1) % orders.length]!) {
					const result: { ms: number; rssGrowthMb?: number; cpuMs?: number } =
						target === 'upload' ? await upload(app, bytes) : target === 'bare' ? await toBare(bytes) : await disk(bytes)
					runs.push({ size: label, bytes, target, round, ms: result.ms, rssGrowthMb: result.rssGrowthMb, cpuMs: result.cpuMs })
					const extra =
						result.rssGrowthMb === undefined ? '' : `  RSS +${mb(result.rssGrowthMb)} MB  app CPU ${(result.cpuMs ?? NaN).toFixed(0)} ms`
					console.log(
						`  round ${round} ${label.padStart(5)} ${target.padEnd(6)} ${result.ms.toFixed(0).padStart(6)} ms ${mbps(bytes, result.ms).toFixed(0).padStart(5)} MB/s${extra}`,
					)
				}
			}
			// The per-request cost, whatever the size (session, project, quota, photo row, final transaction).
			fixedCost.upload.push((await upload(app, WARM_UP_BYTES)).ms)
			fixedCost.bare.push((await toBare(WARM_UP_BYTES)).ms)
		}

		// Memory, cold: a fresh app per size and round, same database, user and storage.
		const coldRuns: ColdRun[] = []
		for (let round = 1; round <= rssRounds; round++) {
			for (const { label, bytes } of SIZES) {
				const port = await freePort()
				const fresh = await startApp(cleanup, { ...config, port, appUrl: `http://localhost:${port}` } satisfies AppConfig, appOptions)
				try {
					for (let i = 0; i < 2; i++) await upload(fresh, WARM_UP_BYTES)
					await settle(fresh.child.pid!)
					const result = await upload(fresh, bytes)
					coldRuns.push({ size: label, bytes, round, ...result })
					console.log(
						`  memory ${round} ${label.padStart(5)} fresh app: RSS +${mb(result.rssGrowthMb)} MB (VmHWM +${mb(result.hwmGrowthMb)} MB), ${result.ms.toFixed(0)} ms`,
					)
				} finally {
					await stopChild(fresh.child)
				}
			}
		}

		const stats = SIZES.map(({ label, bytes }) => {
			const stat = (target: Target) => {
				const of = runs.filter((run) => run.size === label && run.target === target)
				const rss = of.map((run) => run.rssGrowthMb ?? NaN)
				return {
					ms: median(of.map((run) => run.ms)),
					mbps: median(of.map((run) => mbps(bytes, run.ms))),
					rssMedianMb: median(rss),
					rssMaxMb: Math.max(...rss),
					cpuMs: median(of.map((run) => run.cpuMs ?? NaN)),
					runs: of,
				}
			}
			const cold = coldRuns.filter((run) => run.size === label)
			const upload = stat('upload')
			const disk = stat('disk')
			const bareStat = stat('bare')
			return {
				label,
				bytes,
				upload,
				disk,
				bare: bareStat,
				ratioPct: (100 * upload.mbps) / disk.mbps,
				bareRatioPct: (100 * bareStat.mbps) / disk.mbps,
				// The same ratio within each round (its copy and its upload a few ms apart), then the
				// median: less sensitive to the machine changing speed during the run. Shown, not judged.
				pairedRatioPct: median(
					upload.runs.flatMap((run) => {
						const copy = disk.runs.find((other) => other.round === run.round)
						return copy ? [(100 * copy.ms) / run.ms] : []
					}),
				),
				cold: {
					rssMedianMb: median(cold.map((run) => run.rssGrowthMb)),
					rssMaxMb: Math.max(...cold.map((run) => run.rssGrowthMb)),
					hwmMaxMb: Math.max(...cold.map((run) => run.hwmGrowthMb)),
					runs: cold,
				},
			}
		})

		const [small, large] = stats as [(typeof stats)[number], (typeof stats)[number]]
		console.log()
		console.log(
			table([
				['size', 'target', 'MB/s (median)', 'ms (median)', 'RSS growth MB, warm: median', 'max', 'fresh app: median', 'max', 'app CPU ms'],
				...stats.flatMap((s) =>
					(['disk', 'bare', 'upload'] as const).map((target) => [
						s.label,
						target,
						s[target].mbps.toFixed(0),
						s[target].ms.toFixed(0),
						...(target === 'upload'
							? [mb(s.upload.rssMedianMb), mb(s.upload.rssMaxMb), mb(s.cold.rssMedianMb), mb(s.cold.rssMaxMb), s.upload.cpuMs.toFixed(0)]
							: ['', '', '', '', '']),
					]),
				),
			]),
		)
		console.log()
		const verdict = (met: boolean) => (met ? 'met' : 'NOT met')
		for (const s of stats)
			console.log(
				`${s.label.padStart(5)}: upload/disk throughput ${s.ratioPct.toFixed(1)} % (medians ${s.upload.mbps.toFixed(0)} / ${s.disk.mbps.toFixed(0)} MB/s)  ` +
					`(goal >= ${GOAL_RATIO_PCT} %: ${verdict(s.ratioPct >= GOAL_RATIO_PCT)}); bare node:http → file: ${s.bareRatioPct.toFixed(1)} % (reference, no goal); ` +
					`median of the per-round ratios: ${s.pairedRatioPct.toFixed(1)} % (shown, not judged)`,
			)
		const fixedUploadMs = median(fixedCost.upload)
		const fixedBareMs = median(fixedCost.bare)
		console.log(
			`per-request cost: a 100 kB upload takes ${fixedUploadMs.toFixed(1)} ms (bare node:http ${fixedBareMs.toFixed(1)} ms), ` +
				`i.e. ${((100 * fixedUploadMs) / small.upload.ms).toFixed(0)} % of the ${small.label} upload's time (medians; no goal)`,
		)
		// Goals on the worst fresh-app run: a peak is what the machine must have room for.
		const largeRss = large.cold.rssMaxMb
		const spread = largeRss - small.cold.rssMaxMb
		console.log(
			`${large.label} upload RSS growth (fresh app, max of ${rssRounds}): ${largeRss.toFixed(1)} MB  (goal <= ${GOAL_RSS_MB} MB: ${verdict(largeRss <= GOAL_RSS_MB)})`,
		)
		console.log(
			`${large.label} − ${small.label} RSS growth (fresh app, max of ${rssRounds} each): ${spread.toFixed(1)} MB  ` +
				`(goal <= ${GOAL_RSS_SPREAD_MB} MB: ${verdict(spread <= GOAL_RSS_SPREAD_MB)})`,
		)
		const met = {
			ratio: stats.every((s) => s.ratioPct >= GOAL_RATIO_PCT),
			rss: largeRss <= GOAL_RSS_MB,
			rssSpread: spread <= GOAL_RSS_SPREAD_MB,
		}
		const summary = {
			bench: 'upload',
			rounds,
			rssRounds,
			sizes: Object.fromEntries(
				stats.map((s) => [
					s.label.replace(' ', ''),
					{
						bytes: s.bytes,
						upload: {
							mbps: fixed(s.upload.mbps, 1),
							ms: fixed(s.upload.ms, 1),
							cpuMs: fixed(s.upload.cpuMs, 0),
							msRuns: s.upload.runs.map((run) => fixed(run.ms, 1)),
							warmRssGrowthMb: { median: fixed(s.upload.rssMedianMb, 1), max: fixed(s.upload.rssMaxMb, 1) },
							freshRssGrowthMb: {
								median: fixed(s.cold.rssMedianMb, 1),
								max: fixed(s.cold.rssMaxMb, 1),
								hwmMax: fixed(s.cold.hwmMaxMb, 1),
								runs: s.cold.runs.map((run) => fixed(run.rssGrowthMb, 1)),
							},
						},
						disk: { mbps: fixed(s.disk.mbps, 1), ms: fixed(s.disk.ms, 1), msRuns: s.disk.runs.map((run) => fixed(run.ms, 1)) },
						bare: { mbps: fixed(s.bare.mbps, 1), ms: fixed(s.bare.ms, 1), msRuns: s.bare.runs.map((run) => fixed(run.ms, 1)) },
						ratioPct: fixed(s.ratioPct, 1),
						bareRatioPct: fixed(s.bareRatioPct, 1),
						pairedRatioPct: fixed(s.pairedRatioPct, 1),
					},
				]),
			),
			perRequestMs: { upload: fixed(fixedUploadMs, 1), bare: fixed(fixedBareMs, 1), bytes: WARM_UP_BYTES },
			rssGrowth50MbMaxMb: fixed(largeRss, 1),
			rssSpreadMb: fixed(spread, 1),
			goals: { ratioPct: GOAL_RATIO_PCT, rssMb: GOAL_RSS_MB, rssSpreadMb: GOAL_RSS_SPREAD_MB },
			met,
		}
		console.log(JSON.stringify(summary))
		return {
			name: 'upload',
			line:
				`upload: ${stats.map((s) => `${s.label} ${s.ratioPct.toFixed(0)} %`).join(', ')} of disk-copy throughput (goal >= ${GOAL_RATIO_PCT} %; ` +
				`bare node:http ${stats.map((s) => `${s.bareRatioPct.toFixed(0)} %`).join(', ')}), ${large.label} RSS +${largeRss.toFixed(1)} MB ` +
				`(goal <= ${GOAL_RSS_MB}), ${spread.toFixed(1)} MB over ${small.label} (goal <= ${GOAL_RSS_SPREAD_MB})`,
			summary,
		}
	} finally {
		await cleanup.run()
	}
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
	uploadBench().then(
		() => process.exit(0),
		(error: unknown) => {
			console.error(error instanceof Error ? error.message : error)
			process.exit(1)
		},
	)
}
