/**
 * Polls `read` until `done` accepts its value, and returns that value; past `timeoutMs` it throws
 * naming `what` and the last value. For waiting on another process (worker, fake), never for timing.
 */
export async function until<T>(
	what: string,
	read: () => Promise<T>,
	done: (value: T) => boolean,
	options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
	const { timeoutMs = 30_000, intervalMs = 100 } = options
	const started = Date.now()
	for (;;) {
		const value = await read()
		if (done(value)) return value
		if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`)
		await new Promise((resolve) => setTimeout(resolve, intervalMs))
	}
}
