import type { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { ZipFile } from 'yazl'
import { z } from 'zod'
import { audit } from '#app/modules/audit/audit.server.ts'
import { queueEmail } from '#app/modules/email/send.server.ts'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import { enforceRateLimit, rateLimitOf, RateLimitError } from '#app/modules/security/rate-limit.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage, UnsafeKeyError } from '#app/modules/storage/storage.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { privileged, withUser } from '#app/utils/db.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { exportReadyEmail } from './export-email.server.ts'

/** How long an archive can be downloaded (EXPORT_RETENTION_HOURS); then the purge deletes it. */
export const exportTtlHours = () => getEnv().EXPORT_RETENTION_HOURS
/** Export requests allowed per user and 24 h (EXPORTS_PER_USER_PER_DAY). */
export const maxExportsPerDay = () => rateLimitOf('exports').limit
/** A queued export older than this no longer blocks a new request (its job has given up). */
const PENDING_WINDOW_MS = 60 * 60 * 1000

/** Why an export request was refused; nothing was created or enqueued. */
export class ExportError extends Error {
	override name = 'ExportError'
	constructor(
		readonly code: 'pending' | 'rate_limited',
		readonly retryAfterSeconds = 0,
	) {
		super(code)
	}
}

/** The user's latest exports, for the settings page. */
export async function listExports(userId: string) {
	return withUser(userId, (tx) =>
		tx.dataExport.findMany({
			where: { userId },
			orderBy: { createdAt: 'desc' },
			take: 5,
			select: { id: true, status: true, createdAt: true, expiresAt: true },
		}),
	)
}

/**
 * Asks for an export (GDPR art. 15/20): one pending at a time and EXPORTS_PER_USER_PER_DAY per 24 h.
 * The row, the audit event and the job are written in one transaction.
 */
export async function requestExport(userId: string, request?: Request) {
	const pending = await withUser(userId, (tx) => findPending(tx, userId))
	if (pending) throw new ExportError('pending')
	try {
		await enforceRateLimit('exports', userId, { userId, request })
	} catch (error) {
		if (error instanceof RateLimitError) throw new ExportError('rate_limited', error.retryAfterSeconds)
		throw error
	}
	return withUser(userId, async (tx) => {
		// Two clicks at once: the second waits here, then sees the first one's row.
		await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`gdpr-export:${userId}`}))`
		if (await findPending(tx, userId)) throw new ExportError('pending')
		const row = await tx.dataExport.create({ data: { userId }, select: { id: true } })
		await audit('gdpr.export_requested', { userId, request, data: { exportId: row.id } }, tx)
		await enqueue('data-export', { exportId: row.id }, { tx, singletonKey: row.id })
		return row.id
	})
}

function findPending(tx: Parameters<Parameters<typeof withUser>[1]>[0], userId: string) {
	return tx.dataExport.findFirst({
		where: { userId, status: 'queued', createdAt: { gt: new Date(Date.now() - PENDING_WINDOW_MS) } },
		select: { id: true },
	})
}

/** Every row about the user, without secrets (TOTP secret, hashes, session ids, IP hashes). */
export async function collectUserData(userId: string) {
	const db = privileged()
	const where = { userId }
	const [
		account,
		sessions,
		projects,
		photos,
		transformations,
		ledger,
		purchases,
		subscriptions,
		customStyles,
		auditEvents,
		exports,
		apiKeys,
		webhookEndpoints,
		webhookEvents,
		webhookDeliveries,
	] = await Promise.all([
		db.user.findUniqueOrThrow({
			where: { id: userId },
			select: {
				id: true,
				email: true,
				name: true,
				role: true,
				locale: true,
				creditBalance: true,
				stripeCustomerId: true,
				totpEnabledAt: true,
				storageQuotaBytes: true,
				deletionRequestedAt: true,
				createdAt: true,
				updatedAt: true,
			},
		}),
		db.session.findMany({
			where,
			orderBy: { createdAt: 'asc' },
			select: { userAgent: true, createdAt: true, lastSeenAt: true, expiresAt: true, revokedAt: true },
		}),
		db.project.findMany({
			where,
			orderBy: { createdAt: 'asc' },
			select: {
				id: true,
				name: true,
				address: true,
				reference: true,
				status: true,
				coverPhotoId: true,
				archivedAt: true,
				deletedAt: true,
				createdAt: true,
				updatedAt: true,
			},
		}),
		db.photo.findMany({
			where,
			orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
			select: {
				id: true,
				projectId: true,
				status: true,
				originalKey: true,
				originalFilename: true,
				contentType: true,
				sizeBytes: true,
				width: true,
				height: true,
				sha256: true,
				duplicateOfId: true,
				errorCode: true,
				originalPurgedAt: true,
				createdAt: true,
				updatedAt: true,
			},
		}),
		db.transformation.findMany({
			where,
			orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
			select: {
				id: true,
				projectId: true,
				photoId: true,
				batchId: true,
				kind: true,
				roomType: true,
				style: true,
				customStyleId: true,
				quality: true,
				creditsCost: true,
				status: true,
				provider: true,
				model: true,
				input: true,
				outputKey: true,
				outputWidth: true,
				outputHeight: true,
				disclosureLabel: true,
				errorCode: true,
				createdAt: true,
				startedAt: true,
				completedAt: true,
			},
		}),
		db.creditLedger.findMany({
			where,
			orderBy: { seq: 'asc' },
			select: { delta: true, reason: true, reference: true, balanceAfter: true, note: true, createdAt: true },
		}),
		db.purchase.findMany({
			where,
			orderBy: { createdAt: 'asc' },
			select: {
				id: true,
				packId: true,
				credits: true,
				amountCents: true,
				currency: true,
				status: true,
				refundedCredits: true,
				createdAt: true,
				updatedAt: true,
			},
		}),
		db.subscription.findMany({
			where,
			orderBy: { createdAt: 'asc' },
			select: { planId: true, status: true, currentPeriodEnd: true, cancelAtPeriodEnd: true, createdAt: true, updatedAt: true },
		}),
		db.customStyle.findMany({
			where,
			orderBy: { createdAt: 'asc' },
			select: { id: true, name: true, prompt: true, createdAt: true, updatedAt: true },
		}),
		db.auditEvent.findMany({ where, orderBy: { createdAt: 'asc' }, select: { type: true, data: true, createdAt: true } }),
		db.dataExport.findMany({
			where,
			orderBy: { createdAt: 'asc' },
			select: { id: true, status: true, createdAt: true, expiresAt: true },
		}),
		// The key's visible prefix only: never the hash.
		db.apiKey.findMany({
			where,
			orderBy: { createdAt: 'asc' },
			select: { id: true, name: true, prefix: true, createdAt: true, lastUsedAt: true, revokedAt: true },
		}),
		// Never the (sealed) signing secret.
		db.webhookEndpoint.findMany({
			where,
			orderBy: { createdAt: 'asc' },
			select: {
				id: true,
				url: true,
				description: true,
				events: true,
				disabledAt: true,
				disabledReason: true,
				createdAt: true,
				updatedAt: true,
			},
		}),
		db.outgoingEvent.findMany({ where, orderBy: { createdAt: 'asc' }, select: { id: true, type: true, body: true, createdAt: true } }),
		db.webhookDelivery.findMany({
			where,
			orderBy: { createdAt: 'asc' },
			select: {
				endpointId: true,
				eventId: true,
				status: true,
				deliveredAt: true,
				createdAt: true,
				attemptLog: {
					orderBy: { createdAt: 'asc' },
					select: { number: true, trigger: true, statusCode: true, durationMs: true, error: true, createdAt: true },
				},
			},
		}),
	])
	const { totpEnabledAt, ...details } = account
	return {
		account: { ...details, twoFactorEnabledAt: totpEnabledAt },
		sessions,
		projects,
		photos,
		transformations,
		ledger,
		purchases,
		subscriptions,
		customStyles,
		auditEvents,
		exports,
		apiKeys,
		webhooks: { endpoints: webhookEndpoints, events: webhookEvents, deliveries: webhookDeliveries },
	}
}

type Entry = { key: string; path: string; mtime: Date }

const extension = (key: string) => /\.([A-Za-z0-9]{1,5})$/.exec(key)?.[1]?.toLowerCase() ?? 'bin'

/**
 * The job: builds the ZIP (donnees.json, originaux/, transformations/) streamed to storage, then
 * marks the export ready and emails the link, in one transaction. Idempotent: a row that is not
 * `queued` is left alone, and a retry overwrites the half-written object.
 */
export async function buildExport(exportId: string) {
	const row = await privileged().dataExport.findUnique({
		where: { id: exportId },
		select: { id: true, userId: true, status: true, createdAt: true },
	})
	if (!row || row.status !== 'queued') return
	const data = await collectUserData(row.userId)
	const entries: Entry[] = []
	const photos = data.photos.map(({ originalKey, ...photo }) => {
		// A retention-purged original is no longer stored (its row says when it went).
		if (photo.status === 'uploading' || photo.status === 'error' || photo.originalPurgedAt) return { ...photo, file: null }
		const path = `originaux/${photo.id}.${extension(originalKey)}`
		entries.push({ key: originalKey, path, mtime: photo.createdAt })
		return { ...photo, file: path }
	})
	const transformations = data.transformations.map(({ outputKey, ...t }) => {
		if (t.status !== 'succeeded' || !outputKey) return { ...t, file: null }
		const path = `transformations/${t.id}.${extension(outputKey)}`
		entries.push({ key: outputKey, path, mtime: t.completedAt ?? t.createdAt })
		return { ...t, file: path }
	})
	const json = JSON.stringify(
		{ exportedAt: new Date().toISOString(), ...data, photos, transformations },
		(_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
		2,
	)
	const key = storageKeys.exportArchive(row.userId, row.id)
	const { size } = await getStorage().put(key, exportZip(Buffer.from(json), entries, exportId), { contentType: 'application/zip' })

	const expiresAt = new Date(Date.now() + exportTtlHours() * 3600 * 1000)
	await privileged().$transaction(async (tx) => {
		const updated = await tx.dataExport.updateMany({
			where: { id: row.id, status: 'queued' },
			data: { status: 'ready', key, sizeBytes: size, expiresAt },
		})
		if (updated.count === 0) return
		await audit('gdpr.export_ready', { userId: row.userId, data: { exportId: row.id, sizeBytes: size } }, tx)
		const message = exportReadyEmail({
			to: data.account.email,
			locale: data.account.locale,
			link: new URL(`/settings/export/${row.id}`, getEnv().APP_URL).toString(),
			sizeMb: (size / 1_000_000).toFixed(1),
			hours: exportTtlHours(),
		})
		await queueEmail(message, { tx })
	})
}

/**
 * The ZIP: donnees.json first, then each stored object, opened one at a time and read as fast
 * as storage.put consumes (memory stays flat). A missing object is logged and left out; a
 * storage failure destroys the stream, so put() rejects and nothing is kept.
 */
function exportZip(json: Buffer, entries: Entry[], exportId: string): Readable {
	const zip = new ZipFile()
	const output = zip.outputStream as Readable
	const storage = getStorage()
	let current: Readable | null = null
	// storage.put gave up (and destroyed us): release the object being read.
	output.on('close', () => current?.destroy())
	zip.addBuffer(json, 'donnees.json', { mtime: new Date() })
	async function pump() {
		for (const entry of entries) {
			if (output.destroyed) return
			const object = await storage.get(entry.key).catch((error: unknown) => {
				if (error instanceof UnsafeKeyError) return null
				throw error
			})
			if (!object) {
				log.warn('export: stored object missing, left out', { exportId, key: entry.key })
				continue
			}
			if (output.destroyed) {
				object.body.destroy()
				return
			}
			current = object.body
			const read = finished(object.body)
			// Photos are already compressed: STORE mode.
			zip.addReadStream(object.body, entry.path, { compress: false, mtime: entry.mtime, size: object.size })
			await read
			current = null
		}
		zip.end()
	}
	pump().catch((error: unknown) => {
		if (output.destroyed) return // our own destroy() of the open object
		log.error('export: storage read failed', { exportId, error })
		output.destroy(error instanceof Error ? error : new Error(String(error)))
	})
	return output
}

/** The short-lived storage URL of the user's own, unexpired export, or null (→ 404). */
export async function exportDownloadUrl(userId: string, exportId: string) {
	if (!z.uuid().safeParse(exportId).success) return null
	const row = await withUser(userId, (tx) =>
		tx.dataExport.findFirst({
			where: { id: exportId, userId, status: 'ready', expiresAt: { gt: new Date() } },
			select: { key: true, createdAt: true },
		}),
	)
	if (!row?.key) return null
	const date = row.createdAt.toISOString().slice(0, 10)
	return getStorage().signedUrl(row.key, { downloadName: `renzo-donnees-${date}.zip`, expiresInSeconds: 300 })
}

/**
 * Maintenance and retention: deletes expired archives (object, then the row turns `expired`), by
 * batches of `batchSize`; gives up stuck requests. Idempotent: an object already gone is fine.
 */
export async function purgeExpiredExports(options: { now?: Date; batchSize?: number } = {}) {
	const db = privileged()
	const now = options.now ?? new Date()
	const batchSize = options.batchSize ?? 200
	let purged = 0
	for (;;) {
		const expired = await db.dataExport.findMany({
			where: { status: 'ready', expiresAt: { lte: now } },
			orderBy: { id: 'asc' },
			select: { id: true, key: true },
			take: batchSize,
		})
		for (const row of expired) {
			if (row.key) await getStorage().delete(row.key)
			await db.dataExport.updateMany({ where: { id: row.id, status: 'ready' }, data: { status: 'expired', key: null } })
		}
		purged += expired.length
		if (expired.length < batchSize) break
	}
	await db.dataExport.updateMany({
		where: { status: 'queued', createdAt: { lt: new Date(now.getTime() - 24 * 3600 * 1000) } },
		data: { status: 'failed' },
	})
	return purged
}
