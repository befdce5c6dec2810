// `npm run studio`: Prisma Studio on http://localhost:5555 against DATABASE_URL, or against
// the embedded dev database when it is unset. Works offline (decision 001): Studio does not
// need the schema engine, so PRISMA_SCHEMA_ENGINE_BINARY points at /bin/true.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { ensureDatabase } from '#app/utils/database-setup.server.ts'

const stop = await ensureDatabase((line) => console.log(`[studio] ${line}`))
// The CLI itself, not `npx prisma`: npx and its shell do not pass SIGTERM on to Studio.
const cli = createRequire(import.meta.url).resolve('prisma/build/index.js')
const child = spawn(process.execPath, [cli, 'studio', '--port', process.env.STUDIO_PORT ?? '5555', '--browser', 'none'], {
	stdio: 'inherit',
	env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true' },
})
console.log(`[studio] http://localhost:${process.env.STUDIO_PORT ?? '5555'} (Ctrl+C to stop)`)
const quit = () => child.kill('SIGTERM')
process.on('SIGINT', quit)
process.on('SIGTERM', quit)
child.on('exit', async (code) => {
	await stop()
	process.exit(code ?? 0)
})
