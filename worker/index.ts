// The pg-boss worker (decision 004): declares the queues, registers one handler per file in
// worker/jobs/, and drains on SIGTERM so in-flight jobs finish or go back to the queue.
import { disconnectDb } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { startWorker } from './start.ts'

// The database pool of this process is sized for the worker (app/utils/db.server.ts).
process.env.RENZO_PROCESS = 'worker'
const env = getEnv()
if (!env.DATABASE_URL) {
	console.error('DATABASE_URL is not set: start the worker through `npm run dev` or set it')
	process.exit(1)
}

const worker = await startWorker()

let stopping = false
async function shutdown(signal: string) {
	if (stopping) return
	stopping = true
	log.info('worker stopping', { signal })
	// Running handlers get up to 20 s to finish; unfinished jobs return to the queue.
	await worker.stop(20_000).catch((error: unknown) => log.error('worker stop failed', { error }))
	await disconnectDb().catch(() => {})
	log.info('worker stopped')
	process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
// Launched by server.ts: if the parent dies without telling us, stop too.
process.on('disconnect', () => void shutdown('parent-disconnected'))
