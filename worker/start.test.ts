import crypto from 'node:crypto'
import { afterAll, expect, test } from 'vitest'
import { createBoss } from '#app/modules/queue/boss.server.ts'
import { until } from '#tests/utils/until.ts'
import { startWorker } from './start.ts'

// The busy queues are fetched several jobs at a time (catalog `fetchBatch`): each job of a batch
// must still settle on its own, a failing one retried alone while the others complete.

const sender = createBoss()
let worker: Awaited<ReturnType<typeof startWorker>> | undefined

afterAll(async () => {
	await worker?.stop(5_000)
	await sender.stop({ graceful: false, close: true })
})

test('a failing job of a batch is retried alone; the others of its batch complete', async () => {
	await sender.start()
	// Waiting before the worker starts: its first fetch takes them together. Unknown transformations
	// end at once (nothing to claim); the malformed payload fails in the handler.
	const good = Array.from({ length: 3 }, () => crypto.randomUUID())
	const bad = crypto.randomUUID()
	await sender.insert('transformation-run', [
		...good.map((id) => ({ id, data: { transformationId: crypto.randomUUID() } })),
		{ id: bad, data: { transformationId: 'not-a-uuid' } },
	])
	worker = await startWorker({ queues: ['transformation-run'] })
	const state = async (id: string) => (await sender.getJobById('transformation-run', id))?.state
	await until(
		'the good jobs completed',
		() => Promise.all(good.map(state)),
		(states) => states.every((s) => s === 'completed'),
	)
	await until(
		'the bad job back to retry',
		() => state(bad),
		(s) => s === 'retry',
	)
	const failed = await sender.getJobById('transformation-run', bad)
	expect(JSON.stringify(failed?.output)).toContain('transformationId')
	// Completed at their first attempt: a batch failed as a whole would have sent them back too.
	for (const id of good) expect((await sender.getJobById('transformation-run', id))?.retryCount).toBe(0)
})
