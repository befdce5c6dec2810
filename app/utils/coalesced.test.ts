import { expect, test } from 'vitest'
import { coalesced } from './coalesced.ts'

/** A run that ends when told to, recording when it started (its number) per key. */
function controlledRuns() {
	const started: { key: string; finish: (error?: Error) => void }[] = []
	const run = (key: string) =>
		new Promise<void>((resolve, reject) => started.push({ key, finish: (error) => (error ? reject(error) : resolve()) }))
	return { started, run }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

test('calls while a run goes share ONE next run, started after it ends; each call is served by a run that started after it', async () => {
	const { started, run } = controlledRuns()
	const sync = coalesced(run)
	const order: string[] = []
	const first = sync('a').then(() => order.push('first'))
	expect(started).toHaveLength(1)
	// Made while run 1 goes: served by run 2, not by run 1.
	const second = sync('a').then(() => order.push('second'))
	const third = sync('a').then(() => order.push('third'))
	await tick()
	expect(started).toHaveLength(1)
	started[0]!.finish()
	await first
	await tick()
	expect(order).toEqual(['first'])
	expect(started).toHaveLength(2)
	started[1]!.finish()
	await Promise.all([second, third])
	expect(order).toEqual(['first', 'second', 'third'])
	// Nothing going: the next call starts its own run at once.
	const fourth = sync('a')
	expect(started).toHaveLength(3)
	started[2]!.finish()
	await fourth
})

test('keys are independent, and a failed run fails only its own callers', async () => {
	const { started, run } = controlledRuns()
	const sync = coalesced(run)
	const a = sync('a')
	const b = sync('b')
	expect(started.map((s) => s.key)).toEqual(['a', 'b'])
	const aAgain = sync('a')
	started[0]!.finish(new Error('EIO'))
	await expect(a).rejects.toThrow('EIO')
	await tick()
	// The waiting call gets a run of its own, which succeeds.
	expect(started.map((s) => s.key)).toEqual(['a', 'b', 'a'])
	started[2]!.finish()
	await expect(aAgain).resolves.toBeUndefined()
	started[1]!.finish()
	await expect(b).resolves.toBeUndefined()
})
