// Diagnostic, not a bench: the upload route of several built checkouts at once (e.g. before/after
// a change), one upload each in turn so the machine's noise hits them alike. Each checkout needs
// its node_modules, app/generated and a build (`npm run build`); they share one database,
// migrated by the first, and one logged-in user. Per checkout and size: median ms per upload,
// the app's CPU ms per upload, and the median of the per-turn ratios against the first checkout.
// Run: node --import tsx bench/profile/compare-uploads.ts /path/to/before /path/to/after
// Settings (env): COMPARE_UPLOADS (150) per size and checkout, COMPARE_SIZES (100000,5000000) bytes.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
	Cleanup,
	createLoggedInUser,
	freePort,
	intSetting,
	median,
	newAppConfig,
	processCpuSeconds,
	startApp,
	startDatabase,
	table,
} from '../lib/harness.ts'
import { makeJpegLike, uploadAppEnv, uploadFile, uploadHeaders } from '../upload.ts'

const roots = process.argv.slice(2).map((dir) => path.resolve(dir))
if (roots.length < 2) throw new Error('usage: compare-uploads.ts <checkout> <checkout> […]')
for (const root of roots)
	if (!fs.existsSync(path.join(root, 'build/server/index.js')))
		throw new Error(`${root}: no build/server/index.js (run npm run build there)`)
const uploads = intSetting('COMPARE_UPLOADS', 150, 5, 5000)
const sizes = (process.env.COMPARE_SIZES ?? '100000,5000000').split(',').map(Number)

const cleanup = new Cleanup()
try {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-compare-uploads-'))
	cleanup.defer('remove the temporary directory', () => fs.rmSync(dir, { recursive: true, force: true }))
	const db = await startDatabase(cleanup)
	const base = await newAppConfig(db.url)
	const apps = []
	for (const [index, root] of roots.entries()) {
		const port = index === 0 ? base.port : await freePort()
		const storage = path.join(dir, `storage-${index}`)
		const app = await startApp(
			cleanup,
			{ ...base, port, appUrl: `http://localhost:${port}` },
			{
				root,
				env: uploadAppEnv(storage),
			},
		)
		apps.push({ name: `${index + 1}:${path.basename(root)}`, url: app.url, pid: app.child.pid!, storage })
	}
	const user = await createLoggedInUser(base, { projects: 1, photosPerProject: 0 })
	const headers = uploadHeaders(user.cookie)
	const rows: string[][] = [['bytes', 'checkout', 'ms (median)', 'app CPU ms', 'ratio to 1 (median per turn)']]
	for (const bytes of sizes) {
		const file = path.join(dir, `upload-${bytes}.jpg`)
		await makeJpegLike(file, bytes)
		const times = apps.map(() => [] as number[])
		const cpu = apps.map(() => 0)
		for (let turn = -5; turn < uploads; turn++)
			for (const [index, app] of apps.entries()) {
				const before = processCpuSeconds(app.pid)
				const result = await uploadFile(`${app.url}/projects/${user.projectIds[0]}/upload`, file, bytes, headers)
				if (result.status !== 200) throw new Error(`${app.name}: upload refused: ${result.status} ${result.body.slice(0, 200)}`)
				if (turn >= 0) {
					times[index]!.push(result.ms)
					cpu[index]! += processCpuSeconds(app.pid) - before
				}
				fs.rmSync(path.join(app.storage, user.userId), { recursive: true, force: true })
			}
		for (const [index, app] of apps.entries()) {
			const ratios = times[index]!.map((ms, turn) => ms / times[0]![turn]!)
			rows.push([
				String(bytes),
				app.name,
				median(times[index]!).toFixed(2),
				((1000 * cpu[index]!) / uploads).toFixed(2),
				median(ratios).toFixed(3),
			])
		}
	}
	console.log(table(rows))
} finally {
	await cleanup.run()
}
