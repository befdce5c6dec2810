// Diagnostic, not a bench (`npm run bench` does not run it): where does the app's CPU go during
// uploads? The production app with a V8 CPU profile, PROFILE_UPLOADS (40) uploads of
// PROFILE_UPLOAD_BYTES (5 MB) through the real route, then the profile summarised by package/file
// and by function (self time) and the app's CPU ms per upload; PROFILE_OUT keeps the .cpuprofile.
// Run: node --import tsx bench/profile/upload-profile.ts
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
	Cleanup,
	createLoggedInUser,
	ensureBuild,
	intSetting,
	newAppConfig,
	processCpuSeconds,
	startApp,
	startDatabase,
	stopChild,
} from '../lib/harness.ts'
import { makeJpegLike, uploadAppEnv, uploadFile, uploadHeaders } from '../upload.ts'
import { summariseProfile } from './cpu-profile.ts'

const uploads = intSetting('PROFILE_UPLOADS', 40, 1, 1000)
const bytes = intSetting('PROFILE_UPLOAD_BYTES', 5_000_000, 1_000, 60_000_000)

const cleanup = new Cleanup()
try {
	ensureBuild()
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renzo-upload-profile-'))
	cleanup.defer('remove the temporary directory', () => fs.rmSync(dir, { recursive: true, force: true }))
	const file = path.join(dir, 'upload.jpg')
	await makeJpegLike(file, bytes)
	const profileDir = path.join(dir, 'profile')
	const db = await startDatabase(cleanup)
	const config = await newAppConfig(db.url)
	const app = await startApp(cleanup, config, {
		nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
		env: uploadAppEnv(path.join(dir, 'storage')),
	})
	const user = await createLoggedInUser(config, { projects: 1, photosPerProject: 0 })
	const headers = uploadHeaders(user.cookie)
	const url = `${app.url}/projects/${user.projectIds[0]}/upload`
	for (let i = 0; i < 5; i++) await uploadFile(url, file, bytes, headers)
	const before = processCpuSeconds(app.child.pid)
	const started = performance.now()
	for (let i = 0; i < uploads; i++) {
		const result = await uploadFile(url, file, bytes, headers)
		if (result.status !== 200) throw new Error(`upload refused: ${result.status} ${result.body.slice(0, 200)}`)
		// The stored files go at once: a filesystem filling with fresh blocks slows every later write.
		fs.rmSync(path.join(dir, 'storage', user.userId), { recursive: true, force: true })
	}
	const wallMs = (performance.now() - started) / uploads
	const cpuMs = ((processCpuSeconds(app.child.pid) - before) * 1000) / uploads
	await stopChild(app.child)
	const profile = fs.readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'))
	console.log(`${uploads} uploads of ${bytes} bytes: ${wallMs.toFixed(1)} ms each, app CPU ${cpuMs.toFixed(1)} ms each`)
	if (profile) {
		console.log(summariseProfile(path.join(profileDir, profile), 30))
		// PROFILE_OUT: keep the .cpuprofile (e.g. for Chrome DevTools) in that folder.
		const out = process.env.PROFILE_OUT
		if (out) fs.copyFileSync(path.join(profileDir, profile), path.join(fs.mkdirSync(out, { recursive: true }) ?? out, profile))
	}
} finally {
	await cleanup.run()
}
