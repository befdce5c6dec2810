// Starts a pg-boss worker serving every queue of the catalog with its handler (worker/jobs/).
// Used by worker/index.ts (the process) and by tests that need jobs to run in-process.
import { type PgBoss } from 'pg-boss'
import { createBoss } from '#app/modules/queue/boss.server.ts'
import { queues, type QueueName } from '#app/modules/queue/catalog.ts'
import { log } from '#app/utils/logger.server.ts'
import { handlers } from './jobs/index.ts'

const ERROR_LOG_INTERVAL_MS = 30_000

/**
 * pg-boss reports every failed poll: while the database is away (a restart) that is one error per
 * queue slot per second. The first of each kind is logged, then one per 30 s with the count of
 * those left out. Polling goes on meanwhile, and jobs run again as soon as the database is back.
 */
function throttledErrorLog() {
	const last = new Map<string, { at: number; suppressed: number }>()
	return (error: Error) => {
		const kind = (error as { code?: string }).code ?? error.message.replace(/\s*\(Queue: .*$/, '')
		const seen = last.get(kind)
		if (seen && Date.now() - seen.at < ERROR_LOG_INTERVAL_MS) {
			seen.suppressed++
			return
		}
		log.error('pg-boss error', { error, ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) })
		last.set(kind, { at: Date.now(), suppressed: 0 })
	}
}

/** pg-boss does not reconnect when the database is down at start: retry with backoff. */
async function startBoss(): Promise<PgBoss> {
	const logError = throttledErrorLog()
	for (let attempt = 0; ; attempt++) {
		const boss = createBoss({ worker: true })
		boss.on('error', logError)
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

export async function startWorker(options: { queues?: QueueName[] } = {}) {
	const boss = await startBoss()
	const served = options.queues ?? (Object.keys(handlers) as QueueName[])
	for (const name of served) {
		const handler = handlers[name] as (data: unknown) => Promise<void>
		await boss.createQueue(name, { ...queues[name].options, notify: true })
		// pg-boss 12 polls notify-enabled queues only every 30 s by default and does not refetch
		// after a job at batchSize 1, so a backlog would drain one job per 30 s: poll every second.
		const polling = { batchSize: 1, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1 }
		// One registration per slot, so that each can be told to fetch again as soon as its job ends.
		for (let slot = 0; slot < queues[name].concurrency; slot++) {
			// A holder, not a const: a job may start before work() has returned the id.
			const registration: { id?: string } = {}
			registration.id = await boss.work(name, polling, async ([job]) => {
				if (!job) return
				const data = queues[name].payload.parse(job.data)
				const started = Date.now()
				try {
					await handler(data)
					log.info('job done', { queue: name, id: job.id, ms: Date.now() - started })
				} catch (error) {
					log.warn('job failed (will retry if attempts remain)', { queue: name, id: job.id, error })
					throw error
				} finally {
					if (registration.id) boss.notifyWorker(registration.id)
				}
			})
		}
	}
	log.info('worker ready', { queues: served })
	return {
		boss,
		/** Running handlers get up to `timeoutMs` to finish; unfinished jobs return to the queue. */
		stop: (timeoutMs = 20_000) => boss.stop({ graceful: true, timeout: timeoutMs, close: true }),
	}
}
