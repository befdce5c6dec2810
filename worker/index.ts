// The pg-boss worker (decision 004): declares the queues, registers one handler per file in
// worker/jobs/, and drains on SIGTERM so in-flight jobs finish or go back to the queue.
import { type PgBoss } from 'pg-boss'
import { createBoss } from '#app/modules/queue/boss.server.ts'
import { queues, type QueueName } from '#app/modules/queue/catalog.ts'
import { disconnectDb } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { handlers } from './jobs/index.ts'

const env = getEnv()
if (!env.DATABASE_URL) {
	console.error('DATABASE_URL is not set: start the worker through `npm run dev` or set it')
	process.exit(1)
}

/** pg-boss does not reconnect when the database is down at start: retry with backoff. */
async function startBoss(): Promise<PgBoss> {
	for (let attempt = 0; ; attempt++) {
		const boss = createBoss({ worker: true })
		boss.on('error', (error) => log.error('pg-boss error', { error }))
		try {
			return await boss.start()
		} catch (error) {
			const delay = Math.min(30_000, 500 * 2 ** attempt)
			log.warn('queue not reachable yet, retrying', { error, delayMs: delay })
			await boss.stop({ graceful: false, close: true }).catch(() => {})
			await new Promise((resolve) => setTimeout(resolve, delay))
		}
	}
}

const boss = await startBoss()
for (const [name, handler] of Object.entries(handlers) as [QueueName, (data: unknown) => Promise<void>][]) {
	await boss.createQueue(name, { ...queues[name].options, notify: true })
	// pg-boss 12 polls notify-enabled queues only every 30 s by default and does not refetch
	// after a job at batchSize 1, so a backlog would drain one job per 30 s: poll every second.
	const polling = { batchSize: 1, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1, localConcurrency: queues[name].concurrency }
	await boss.work(name, polling, async ([job]) => {
		if (!job) return
		const data = queues[name].payload.parse(job.data)
		const started = Date.now()
		try {
			await handler(data)
			log.info('job done', { queue: name, id: job.id, ms: Date.now() - started })
		} catch (error) {
			log.warn('job failed (will retry if attempts remain)', { queue: name, id: job.id, error })
			throw error
		}
	})
}
log.info('worker ready', { queues: Object.keys(handlers) })

let stopping = false
async function shutdown(signal: string) {
	if (stopping) return
	stopping = true
	log.info('worker stopping', { signal })
	// Running handlers get up to 20 s to finish; unfinished jobs return to the queue.
	await boss.stop({ graceful: true, timeout: 20_000, close: true }).catch((error) => log.error('worker stop failed', { error }))
	await disconnectDb().catch(() => {})
	log.info('worker stopped')
	process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
// Launched by server.ts: if the parent dies without telling us, stop too.
process.on('disconnect', () => void shutdown('parent-disconnected'))
