/**
 * Coalesces the calls of `run(key)`. With no run going for its key, a call starts one at once.
 * Made while one runs (which may have started before whatever the caller just did), it waits for
 * the next run, which starts when the current one ends and serves every call made meanwhile. So
 * each call is served by a run that started after the call, and a key has at most two runs at a
 * time (one going, one waiting). Made for folder fsyncs (local storage): one fsync of a folder
 * makes every rename into it that finished before the fsync started durable.
 */
export function coalesced<K>(run: (key: K) => Promise<void>): (key: K) => Promise<void> {
	const runs = new Map<K, { going: Promise<void>; next: Promise<void> | undefined }>()
	const start = (key: K) => {
		const state = { going: run(key), next: undefined as Promise<void> | undefined }
		runs.set(key, state)
		// Attached first, so it runs before a `next` chained later: the entry stays while a run waits.
		const end = () => {
			if (runs.get(key) === state && !state.next) runs.delete(key)
		}
		state.going.then(end, end)
		return state.going
	}
	return (key) => {
		const state = runs.get(key)
		if (!state) return start(key)
		return (state.next ??= state.going.then(
			() => start(key),
			() => start(key),
		))
	}
}
