// The pg-boss worker (decision 004): declares the queues, registers one handler per file in
// worker/jobs/, and drains on SIGTERM so in-flight jobs finish or go back to the queue.
import sharp from 'sharp'
import { disconnectDb } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { startWorker } from './start.ts'

// The database pool of this process is sized for the worker (app/utils/db.server.ts).
process.env.RENZO_PROCESS = 'worker'
// libvips' operation cache pays off only when the same image is processed again; the worker sees
// each image once, so the cache is argument hashing (and up to 50 MB) for nothing.
sharp.cache(false)
const env = getEnv()
if (!env.DATABASE_URL) {
	console.error('DATABASE_URL is not set: start the worker through `npm run dev` or set it')
	process.exit(1)
}

// Signals are handled from the start: a worker still waiting for its database (startBoss retries)
// must stop cleanly too, not die of the default SIGTERM action.
const starting = startWorker()

let stopping = false
async function shutdown(signal: string) {
	if (stopping) return
	stopping = true
	log.info('worker stopping', { signal })
	// Still connecting (database away since boot): no job has run, there is nothing to hand back.
	const worker = await Promise.race([starting, new Promise<undefined>((resolve) => setTimeout(resolve, 5_000, undefined))])
	// Running handlers get the grace period to finish; unfinished jobs return to the queue.
	await worker?.stop(env.WORKER_SHUTDOWN_GRACE_SECONDS * 1000).catch((error: unknown) => log.error('worker stop failed', { error }))
	await disconnectDb().catch(() => {})
	log.info('worker stopped')
	process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
// Launched by server.ts: if the parent dies without telling us, stop too.
process.on('disconnect', () => void shutdown('parent-disconnected'))

await starting
