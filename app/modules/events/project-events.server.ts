import pg from 'pg'
import type { PrismaClient } from '#app/generated/prisma/client.ts'
import type { Tx } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'

/**
 * Live project events: the worker (or any writer) NOTIFYs inside its transaction, so the event
 * exists if and only if the change committed; each web process keeps ONE listening connection
 * and fans events out to the open event streams of that project. Events carry ids and statuses
 * only: the page re-reads its data through its owner-scoped loader.
 */

const CHANNEL = 'renzo_project_events'
/** The channel, for a writer that NOTIFYs from its own SQL statement (same payload as notifyProject, as JSON). */
export const PROJECT_EVENTS_CHANNEL = CHANNEL

export type ProjectEvent = {
	projectId: string
	type: 'transformation' | 'photo'
	id: string
	status: string
}

/** Queues the event on `db`'s transaction (delivered at commit; dropped on rollback). */
export async function notifyProject(db: Tx | PrismaClient, event: ProjectEvent) {
	await db.$executeRaw`SELECT pg_notify(${CHANNEL}, ${JSON.stringify(event)})`
}

type Listener = (event: ProjectEvent) => void
type State = {
	listeners: Map<string, Set<Listener>>
	/** What ends each open stream (graceful shutdown must not wait for browsers to leave). */
	closers: Set<() => void>
	connection?: Promise<pg.Client>
	retryTimer?: NodeJS.Timeout
}
// On globalThis: in development the routes run in Vite's module graph and server.ts in Node's,
// and both must see the same connection and streams.
const state: State = ((globalThis as { __renzoProjectEvents?: State }).__renzoProjectEvents ??= {
	listeners: new Map(),
	closers: new Set(),
})
const { listeners } = state

function dispatch(payload: string | undefined) {
	if (!payload) return
	let event: ProjectEvent
	try {
		event = JSON.parse(payload) as ProjectEvent
	} catch {
		return
	}
	for (const listener of listeners.get(event.projectId) ?? []) listener(event)
}

function connect(attempt = 0): Promise<pg.Client> {
	state.connection ??= (async () => {
		const url = getEnv().DATABASE_URL
		if (!url) throw new Error('DATABASE_URL is not set')
		const client = new pg.Client({ connectionString: url, application_name: 'renzo-web-events' })
		const lost = (error?: Error) => {
			if (state.connection === undefined) return
			state.connection = undefined
			client.removeAllListeners()
			void client.end().catch(() => {})
			if (error) log.warn('live events connection lost, reconnecting', { error })
			// Reconnect only while someone listens; the next subscriber connects otherwise.
			if (listeners.size > 0) scheduleReconnect(attempt + 1)
		}
		client.on('notification', (message) => dispatch(message.payload))
		client.on('error', lost)
		client.on('end', () => lost())
		await client.connect()
		await client.query(`LISTEN ${CHANNEL}`)
		return client
	})()
	const current = state.connection
	current.catch(() => {
		if (state.connection === current) state.connection = undefined
		if (listeners.size > 0) scheduleReconnect(attempt + 1)
	})
	return current
}

function scheduleReconnect(attempt: number) {
	if (state.retryTimer) return
	const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7))
	state.retryTimer = setTimeout(() => {
		state.retryTimer = undefined
		void connect(attempt).catch(() => {})
	}, delay)
	state.retryTimer.unref()
}

/**
 * Calls `listener` for every event of the project until the returned function is called.
 * Resolves once the listening connection is up (events committed after that are seen).
 */
export async function subscribeProject(projectId: string, listener: Listener, onClose: () => void): Promise<() => void> {
	let set = listeners.get(projectId)
	if (!set) listeners.set(projectId, (set = new Set()))
	set.add(listener)
	state.closers.add(onClose)
	const unsubscribe = () => {
		state.closers.delete(onClose)
		const current = listeners.get(projectId)
		current?.delete(listener)
		if (current && current.size === 0) listeners.delete(projectId)
	}
	try {
		await connect()
	} catch (error) {
		// Still subscribed: the reconnect loop brings events back when the database returns.
		log.warn('live events not available yet', { error })
	}
	return unsubscribe
}

/** Ends every open event stream and closes the listening connection (graceful shutdown, tests). */
export async function closeProjectEvents() {
	for (const close of [...state.closers]) close()
	state.closers.clear()
	const current = state.connection
	state.connection = undefined
	if (state.retryTimer) clearTimeout(state.retryTimer)
	state.retryTimer = undefined
	listeners.clear()
	const client = await current?.catch(() => undefined)
	if (client) {
		client.removeAllListeners()
		await client.end().catch(() => {})
	}
}
