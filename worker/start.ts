// Starts a pg-boss worker serving every queue of the catalog with its handler (worker/jobs/).
// Used by worker/index.ts (the process) and by tests that need jobs to run in-process.
import { type Job, type JobResult, type PgBoss } from 'pg-boss'
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

/**
 * One job of a batch, as pg-boss's per-job settlement wants it: `completed`, or `failed` with the
 * error (retried while the queue's retryLimit allows, as a thrown error would be).
 */
async function runJob(name: QueueName, handler: (data: unknown) => Promise<void>, job: Job<unknown>): Promise<JobResult> {
	const started = Date.now()
	try {
		await handler(queues[name].payload.parse(job.data))
		log.info('job done', { queue: name, id: job.id, ms: Date.now() - started })
		return { id: job.id, status: 'completed' }
	} catch (error) {
		log.warn('job failed (will retry if attempts remain)', { queue: name, id: job.id, error })
		return { id: job.id, status: 'failed', output: error }
	}
}

export async function startWorker(options: { queues?: QueueName[] } = {}) {
	const boss = await startBoss()
	const served = options.queues ?? (Object.keys(handlers) as QueueName[])
	for (const name of served) {
		const handler = handlers[name] as (data: unknown) => Promise<void>
		const queue = queues[name]
		await boss.createQueue(name, { ...queue.options, notify: true })
		// Busy queues fetch several jobs per statement and settle them in one (catalog: fetchBatch).
		const batchSize = 'fetchBatch' in queue ? queue.fetchBatch : 1
		// New jobs wake a registration at once (NOTIFY), and each one fetches again as soon as its jobs
		// end (notifyWorker below), so a backlog drains at full speed whatever the poll. The poll finds
		// what no NOTIFY announces: a retry whose delay has passed. So it follows the queue's retry
		// delay (half of it, 1 to 5 s; pg-boss's default is 30 s): each idle registration polled every
		// second made ~28 fetch statements a second with every queue idle.
		const pollSeconds = Math.min(5, Math.max(1, Math.floor(queue.options.retryDelay / 2)))
		const polling = { batchSize, pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: pollSeconds }
		// One registration per `batchSize` slots, so that each can be told to fetch again as soon as its jobs end.
		for (let slot = 0; slot < Math.ceil(queue.concurrency / batchSize); slot++) {
			// A holder, not a const: a job may start before work() has returned the id.
			const registration: { id?: string } = {}
			registration.id = await boss.work(name, { ...polling, perJobResults: true }, async (jobs) => {
				try {
					// Each job settles on its own: one that fails is retried alone, the others complete.
					return await Promise.all(jobs.map((job) => runJob(name, handler, job)))
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
