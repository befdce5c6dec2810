import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { EmailMessage } from './message.ts'

// Development only: without SMTP_URL, mail lands here (and in the worker's console).
const OUTBOX_DIR = path.resolve(import.meta.dirname, '../../../.data/outbox')

export type OutboxEntry = EmailMessage & { id: string; sentAt: string }

/** Stores a message in the dev outbox. */
export async function writeToOutbox(message: EmailMessage): Promise<OutboxEntry> {
	const sentAt = new Date().toISOString()
	const entry = { ...message, id: `${sentAt.replace(/[:.]/g, '-')}-${crypto.randomBytes(3).toString('hex')}`, sentAt }
	await fs.mkdir(OUTBOX_DIR, { recursive: true })
	await fs.writeFile(path.join(OUTBOX_DIR, `${entry.id}.json`), JSON.stringify(entry, null, 2))
	return entry
}

/** The latest messages of the dev outbox, newest first. */
export async function readOutbox(limit = 20): Promise<OutboxEntry[]> {
	const names = await fs.readdir(OUTBOX_DIR).catch(() => [] as string[])
	const latest = names
		.filter((n) => n.endsWith('.json'))
		.sort()
		.reverse()
		.slice(0, limit)
	return Promise.all(latest.map(async (name) => JSON.parse(await fs.readFile(path.join(OUTBOX_DIR, name), 'utf8')) as OutboxEntry))
}
