import { capture, release } from '#app/modules/credits/ledger.server.ts'
import { queueEmail } from '#app/modules/email/send.server.ts'
import { batchDoneEmail } from '#app/modules/email/templates.server.ts'
import { isLocale } from '#app/modules/i18n/catalog.ts'
import type { Variant } from '#app/modules/photos/image.server.ts'
import { notifyProject } from '#app/modules/events/project-events.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { privileged, type Tx } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { buildModelInput } from './catalog.ts'
import { enhance } from './enhance.server.ts'
import { creditReference } from './order.server.ts'
import { prepareOutput, UnusableOutputError } from './output.server.ts'
import { decodeForEnhancement } from './source.server.ts'
import { createReplicateClient, downloadOutput, ProviderError, type PredictionState } from './replicate.server.ts'

/**
 * The life of a transformation after it was ordered (worker side). Every state change is a
 * conditional UPDATE on the current status inside a transaction that also settles the credits,
 * so a duplicate webhook, a retried job or a crash can neither capture twice nor release twice.
 */

/** Why a transformation failed: the code the page translates (transformations.error.<code>). */
export type FailureCode =
	| 'model_failed'
	| 'content_refused'
	| 'output_unusable'
	| 'provider_unavailable'
	| 'source_missing'
	| 'timeout'
	| 'provider_canceled'
	| 'configuration'

/** A transient failure is retried by pg-boss until this many attempts, then it is final. */
export const MAX_ATTEMPTS = 5
/** What a result may weigh when downloaded from the provider. */
export const MAX_OUTPUT_BYTES = 60 * 1024 * 1024
/** How long the provider's signed input URL lives (Replicate fetches it when the model starts). */
const INPUT_URL_TTL_SECONDS = 3_600

let client: ReturnType<typeof createReplicateClient> | undefined
/** The Replicate client of this process, from the configuration. */
export function replicate() {
	const env = getEnv()
	if (!env.REPLICATE_API_TOKEN) throw new ProviderError('REPLICATE_API_TOKEN is not set', 'auth', false)
	client ??= createReplicateClient({
		apiToken: env.REPLICATE_API_TOKEN,
		baseUrl: env.REPLICATE_BASE_URL,
		...(env.REPLICATE_WEBHOOK_SECRET ? { webhookSecret: env.REPLICATE_WEBHOOK_SECRET } : {}),
	})
	return client
}

/** Where Replicate posts completions. */
export function webhookUrl() {
	return new URL('/webhooks/replicate', getEnv().APP_URL).toString()
}

const selectRun = {
	id: true,
	userId: true,
	projectId: true,
	photoId: true,
	status: true,
	provider: true,
	model: true,
	input: true,
	quality: true,
	attempts: true,
	batchId: true,
	predictionId: true,
	disclosureLabel: true,
	creditsCost: true,
	photo: {
		select: {
			originalKey: true,
			variants: { where: { kind: 'preview', transformationId: null }, select: { key: true } },
		},
	},
} as const

/** The transformation-run job: starts (or resumes) one transformation. */
export async function runTransformation(id: string) {
	const db = privileged()
	const claimed = await db.$transaction(async (tx) => {
		const updated = await tx.transformation.updateMany({
			where: { id, status: { in: ['queued', 'processing'] } },
			data: { status: 'processing', attempts: { increment: 1 } },
		})
		if (updated.count === 0) return null
		await tx.transformation.updateMany({ where: { id, startedAt: null }, data: { startedAt: new Date() } })
		const row = await tx.transformation.findUniqueOrThrow({ where: { id }, select: selectRun })
		await notify(tx, row, 'processing')
		return row
	})
	// Cancelled, finished or deleted meanwhile: nothing to do.
	if (!claimed) return
	try {
		if (claimed.provider === 'local') await runLocally(claimed)
		else await startPrediction(claimed)
	} catch (error) {
		const transient = error instanceof ProviderError ? error.transient : !(error instanceof UnusableOutputError)
		if (transient && claimed.attempts < MAX_ATTEMPTS) throw error
		log.warn('transformation failed', { id, error })
		await failTransformation(id, failureCode(error))
	}
}

type Run = NonNullable<Awaited<ReturnType<typeof loadRun>>>
function loadRun(db: Tx | ReturnType<typeof privileged>, where: { id: string } | { predictionId: string }) {
	return db.transformation.findUnique({ where, select: selectRun })
}

async function runLocally(run: Run) {
	const original = await getStorage().get(run.photo.originalKey)
	if (!original) throw new SourceMissingError()
	const chunks: Buffer[] = []
	for await (const chunk of original.body) chunks.push(chunk as Buffer)
	const env = getEnv()
	const source = await decodeForEnhancement(Buffer.concat(chunks), env.IMAGE_MAX_PIXELS)
	const result = await enhance(source, { quality: run.quality, maxPixels: env.IMAGE_MAX_PIXELS })
	await finishWithImage(run, result.data)
}

class SourceMissingError extends Error {
	override name = 'SourceMissingError'
}

async function startPrediction(run: Run) {
	const provider = replicate()
	if (run.predictionId) {
		// A retry after the prediction was created (crash, timeout): never create a second one.
		const state = await provider.get(run.predictionId)
		if (isTerminal(state)) await completePrediction(state)
		return
	}
	// The preview (≤ 1600 px WebP, no EXIF/GPS) is what the model sees: no personal metadata leaves.
	const previewKey = run.photo.variants[0]?.key
	if (!previewKey) throw new SourceMissingError()
	const storage = getStorage()
	const imageUrl = new URL(await storage.signedUrl(previewKey, { expiresInSeconds: INPUT_URL_TTL_SECONDS }), getEnv().APP_URL).toString()
	const { prompt, seed } = run.input as { prompt: string; seed: number }
	const prediction = await provider.create({
		model: run.model ?? '',
		input: buildModelInput({ prompt, imageUrl, seed }),
		webhookUrl: webhookUrl(),
	})
	// Stored before anything else can fail: from here the webhook or the reconcile job can finish it.
	const stored = await privileged().transformation.updateMany({
		where: { id: run.id, predictionId: null },
		data: { predictionId: prediction.id },
	})
	const current = await privileged().transformation.findUnique({ where: { id: run.id }, select: { status: true } })
	if (stored.count === 0 || current?.status !== 'processing') {
		// Cancelled (or deleted) while we were creating it: stop paying for it.
		await provider.cancel(prediction.id).catch((error: unknown) => log.warn('prediction cancel failed', { id: run.id, error }))
		return
	}
	if (isTerminal(prediction)) await completePrediction(prediction)
}

function isTerminal(state: PredictionState) {
	return state.status === 'succeeded' || state.status === 'failed' || state.status === 'canceled'
}

/**
 * A prediction reached a final state (webhook, reconcile or a job retry): download and store
 * the result and capture the credits, or fail and release them. Idempotent: a transformation
 * that is no longer `processing` is left alone.
 */
export async function completePrediction(state: PredictionState) {
	const run = await loadRun(privileged(), { predictionId: state.id })
	if (!run || run.status !== 'processing') return
	if (state.status === 'succeeded') {
		if (!state.outputUrl) return failTransformation(run.id, 'output_unusable')
		let data: Buffer
		try {
			data = await downloadOutput(state.outputUrl, { maxBytes: MAX_OUTPUT_BYTES, timeoutMs: 120_000 })
		} catch (error) {
			// A network hiccup is retried by the job; a missing (expired) or non-image output is final.
			if (error instanceof ProviderError && error.transient) throw error
			log.warn('transformation output unusable', { id: run.id, error })
			return failTransformation(run.id, 'output_unusable')
		}
		try {
			await finishWithImage(run, data)
		} catch (error) {
			if (!(error instanceof UnusableOutputError)) throw error
			log.warn('transformation output unusable', { id: run.id, error })
			await failTransformation(run.id, 'output_unusable')
		}
		return
	}
	if (state.status === 'failed')
		return failTransformation(run.id, /nsfw|safety|flagged|sensitive|moderat/i.test(state.error ?? '') ? 'content_refused' : 'model_failed')
	if (state.status === 'canceled') return failTransformation(run.id, 'provider_canceled')
}

/** Stores the result and its variants, then marks it succeeded and captures the credits. */
async function finishWithImage(run: Run, data: Buffer) {
	const env = getEnv()
	const output = await prepareOutput(data, { maxPixels: env.IMAGE_MAX_PIXELS, disclosureLabel: run.disclosureLabel })
	const storage = getStorage()
	const outputKey = storageKeys.transformed(run.userId, run.projectId, run.id, output.full.ext)
	// Same keys on a retry: writing again is harmless. Results never change: cache them for a year.
	await storage.put(outputKey, output.full.data, {
		contentType: output.full.contentType,
		cacheControl: 'private, max-age=31536000, immutable',
	})
	const variants: (Variant & { key: string })[] = []
	for (const variant of output.variants) {
		const key = storageKeys.variant(run.userId, run.projectId, run.id, variant.kind)
		await storage.put(key, variant.data, { contentType: variant.contentType, cacheControl: 'public, max-age=31536000, immutable' })
		variants.push({ ...variant, key })
	}
	const done = await privileged().$transaction(async (tx) => {
		await lockBatch(tx, run.batchId)
		const updated = await tx.transformation.updateMany({
			where: { id: run.id, status: 'processing' },
			data: {
				status: 'succeeded',
				outputKey,
				outputWidth: output.width,
				outputHeight: output.height,
				completedAt: new Date(),
				errorCode: null,
			},
		})
		if (updated.count === 0) return false
		for (const variant of variants)
			await tx.photoVariant.upsert({
				where: { key: variant.key },
				create: {
					userId: run.userId,
					photoId: run.photoId,
					transformationId: run.id,
					kind: variant.kind,
					key: variant.key,
					contentType: variant.contentType,
					width: variant.width,
					height: variant.height,
					sizeBytes: variant.data.length,
				},
				update: { width: variant.width, height: variant.height, sizeBytes: variant.data.length },
			})
		if (run.creditsCost > 0) await capture(tx, { userId: run.userId, reference: creditReference(run.id) })
		await notify(tx, run, 'succeeded')
		await emailIfBatchDone(tx, run.batchId)
		return true
	})
	if (!done) {
		// Cancelled or deleted while it ran: its files must not outlive it.
		await Promise.all([outputKey, ...variants.map((variant) => variant.key)].map((key) => storage.delete(key)))
	}
}

/** Final failure: marks it failed with a reason for the user and releases the credits, once. */
export async function failTransformation(id: string, code: FailureCode) {
	await privileged().$transaction(async (tx) => {
		const row = await tx.transformation.findUnique({
			where: { id },
			select: { userId: true, projectId: true, creditsCost: true, batchId: true },
		})
		if (!row) return
		await lockBatch(tx, row.batchId)
		const updated = await tx.transformation.updateMany({
			where: { id, status: { in: ['queued', 'processing'] } },
			data: { status: 'failed', errorCode: code, completedAt: new Date() },
		})
		if (updated.count === 0) return
		if (row.creditsCost > 0) await release(tx, { userId: row.userId, reference: creditReference(id) })
		await notify(tx, { id, projectId: row.projectId }, 'failed')
		await emailIfBatchDone(tx, row.batchId)
	})
}

function failureCode(error: unknown): FailureCode {
	if (error instanceof SourceMissingError) return 'source_missing'
	if (error instanceof UnusableOutputError) return 'output_unusable'
	if (error instanceof ProviderError) {
		if (error.code === 'auth') return 'configuration'
		if (error.code === 'rejected') return 'model_failed'
		if (error.code.startsWith('output_')) return 'output_unusable'
		return 'provider_unavailable'
	}
	return 'model_failed'
}

/**
 * The user cancels a queued or running transformation: it is marked cancelled and its credits
 * released in one transaction (only if it was still queued/processing), then the provider is
 * told to stop. Returns false when there was nothing to cancel.
 */
export async function cancelTransformation(userId: string, id: string) {
	const cancelled = await privileged().$transaction(async (tx) => {
		const row = await tx.transformation.findFirst({
			where: { id, userId },
			select: { projectId: true, creditsCost: true, predictionId: true, batchId: true },
		})
		if (!row) return null
		await lockBatch(tx, row.batchId)
		const updated = await tx.transformation.updateMany({
			where: { id, userId, status: { in: ['queued', 'processing'] } },
			data: { status: 'canceled', completedAt: new Date() },
		})
		if (updated.count === 0) return null
		if (row.creditsCost > 0) await release(tx, { userId, reference: creditReference(id) })
		await notify(tx, { id, projectId: row.projectId }, 'canceled')
		await emailIfBatchDone(tx, row.batchId)
		return row
	})
	if (!cancelled) return false
	if (cancelled.predictionId)
		await replicate()
			.cancel(cancelled.predictionId)
			.catch((error: unknown) => log.warn('prediction cancel failed', { id, error }))
	return true
}

/**
 * The reconcile job (every minute): asks the provider about predictions whose webhook has not
 * come after TRANSFORMATION_RECONCILE_AFTER_SECONDS, and gives up (cancel + refund) on those
 * still running after TRANSFORMATION_TIMEOUT_MINUTES.
 */
export async function reconcileTransformations(now = new Date()) {
	const env = getEnv()
	const db = privileged()
	const quietSince = new Date(now.getTime() - env.TRANSFORMATION_RECONCILE_AFTER_SECONDS * 1000)
	const deadline = new Date(now.getTime() - env.TRANSFORMATION_TIMEOUT_MINUTES * 60_000)
	const stale = await db.transformation.findMany({
		where: { status: 'processing', startedAt: { lt: quietSince } },
		select: { id: true, predictionId: true, startedAt: true },
		orderBy: { startedAt: 'asc' },
		take: 200,
	})
	let completed = 0
	for (const row of stale) {
		const overdue = row.startedAt !== null && row.startedAt < deadline
		try {
			if (row.predictionId) {
				const state = await replicate().get(row.predictionId)
				if (isTerminal(state)) {
					await completePrediction(state)
					completed++
					continue
				}
				if (overdue)
					await replicate()
						.cancel(row.predictionId)
						.catch(() => undefined)
			}
			if (overdue) await failTransformation(row.id, 'timeout')
		} catch (error) {
			log.warn('reconcile failed for one transformation', { id: row.id, error })
		}
	}
	return { checked: stale.length, completed }
}

function notify(tx: Tx, row: { id: string; projectId: string }, status: string) {
	return notifyProject(tx, { projectId: row.projectId, type: 'transformation', id: row.id, status })
}

/**
 * Serialises the final transitions of one batch: with its rows locked, exactly one transaction
 * sees the last transformation finish (two finishing together would each see the other running).
 */
async function lockBatch(tx: Tx, batchId: string) {
	await tx.$queryRaw`SELECT id FROM transformations WHERE batch_id = ${batchId}::uuid ORDER BY id FOR UPDATE`
}

/** When the batch's last transformation ends and the user asked for it, one email (same transaction). */
async function emailIfBatchDone(tx: Tx, batchId: string) {
	const rows = await tx.transformation.findMany({
		where: { batchId },
		select: { status: true, input: true, userId: true, projectId: true, project: { select: { name: true } } },
	})
	if (rows.some((row) => row.status === 'queued' || row.status === 'processing')) return
	const first = rows[0]
	if (!first || !(first.input as { notify?: boolean } | null)?.notify) return
	const succeeded = rows.filter((row) => row.status === 'succeeded').length
	const failed = rows.filter((row) => row.status === 'failed').length
	if (succeeded + failed === 0) return
	const user = await tx.user.findUniqueOrThrow({ where: { id: first.userId }, select: { email: true, locale: true } })
	const link = new URL(`/projects/${first.projectId}`, getEnv().APP_URL).toString()
	const locale = isLocale(user.locale) ? user.locale : 'fr'
	await queueEmail(batchDoneEmail({ to: user.email, locale, projectName: first.project.name, succeeded, failed, link }), { tx })
}
