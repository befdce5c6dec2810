import { assertReserved, release, settlementInsert } from '#app/modules/credits/ledger.server.ts'
import { queueEmail } from '#app/modules/email/send.server.ts'
import { batchDoneEmail } from '#app/modules/email/templates.server.ts'
import { isLocale } from '#app/modules/i18n/catalog.ts'
import type { Variant } from '#app/modules/photos/image.server.ts'
import { PROJECT_EVENTS_CHANNEL, type ProjectEvent } from '#app/modules/events/project-events.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { Prisma, privileged, privilegedDirect, privilegedLocked, type Tx } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { emitBatchCompleted, emitTransformationEvent } from '#app/modules/webhooks-out/emit.server.ts'
import { buildModelInput } from './catalog.ts'
import { enhance } from './enhance.server.ts'
import { creditReference } from './order.server.ts'
import { prepareOutput, UnusableOutputError } from './output.server.ts'
import { decodeForEnhancement } from './source.server.ts'
import { createReplicateClient, downloadOutput, ProviderError, toState, type PredictionState } from './replicate.server.ts'

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

/** What the worker needs of a transformation to run or finish it (one row, no relation). */
type Run = {
	id: string
	userId: string
	projectId: string
	photoId: string
	status: string
	provider: string
	model: string | null
	input: unknown
	quality: 'standard' | 'hd'
	attempts: number
	batchId: string
	predictionId: string | null
	disclosureLabel: boolean
	creditsCost: number
	/** The user has an enabled webhook endpoint (its transitions emit events). */
	listening: boolean
}
/**
 * The claimed row, with what the source photo gives the run (its original for the local provider,
 * its preview as the model's input) and how many predictions are in flight (see waitForRoom).
 */
type Claimed = Run & { originalKey: string | null; previewKey: string | null; inFlight: number }

/** The columns of a Run, as the raw statements below name them (`t`: the transformations row). */
const RUN_COLUMNS = Prisma.sql`t.id::text AS "id", t.user_id::text AS "userId", t.project_id::text AS "projectId", t.photo_id::text AS "photoId",
	t.status::text AS "status", t.provider, t.model, t.input, t.quality::text AS "quality", t.attempts, t.batch_id::text AS "batchId",
	t.prediction_id AS "predictionId", t.disclosure_label AS "disclosureLabel", t.credits_cost AS "creditsCost",
	EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.user_id = t.user_id AND e.disabled_at IS NULL) AS "listening"`

/** Predictions started at the provider and not finished yet, all users together (the partial index on `processing` rows). */
const IN_FLIGHT = Prisma.sql`SELECT count(*)::int FROM transformations WHERE status = 'processing' AND prediction_id IS NOT NULL`
/** How long a new prediction waits at most for room under TRANSFORMATION_MAX_IN_FLIGHT (then it goes ahead). */
const IN_FLIGHT_MAX_WAIT_MS = 30_000

/**
 * Backpressure: a new prediction waits while TRANSFORMATION_MAX_IN_FLIGHT are started and not
 * finished. Real models take seconds, so in flight ≈ start rate × model time, and the default
 * (200) is above what Replicate's own limits let one account reach; it matters when results come
 * back faster than they can be finished (an instant model, a backlog released at once): without
 * it the webhook route would be sent completions faster than it can take them.
 */
async function waitForRoom(inFlight: number) {
	const max = getEnv().TRANSFORMATION_MAX_IN_FLIGHT
	if (inFlight < max) return
	const deadline = Date.now() + IN_FLIGHT_MAX_WAIT_MS
	while (Date.now() < deadline) {
		const poll = await nextInFlightPoll()
		// The room a count shows goes to as many waiters as it has places, not to all of them.
		if (poll.count + poll.taken < max) {
			poll.taken++
			return
		}
	}
}

const IN_FLIGHT_POLL_MS = 200
let inFlightPoll: Promise<{ count: number; taken: number }> | undefined

/**
 * The in-flight count, read again every IN_FLIGHT_POLL_MS for all the runs of this process that
 * wait at once (one statement, not one per waiting run: with 16 run slots waiting, their own
 * polls were ~2 statements per transformation under load).
 */
function nextInFlightPoll() {
	inFlightPoll ??= (async () => {
		try {
			await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_POLL_MS))
			return { count: (await privileged().$queryRaw<{ count: number }[]>(IN_FLIGHT))[0]?.count ?? 0, taken: 0 }
		} finally {
			inFlightPoll = undefined
		}
	})()
	return inFlightPoll
}

/**
 * The transformation-run job: starts (or resumes) one transformation. The claim is ONE statement:
 * the conditional UPDATE (queued/processing → processing, one more attempt, started_at kept),
 * the photo's keys and the `processing` event (pg_notify, delivered at commit) — no transaction
 * round trips for what is a single atomic change.
 */
export async function runTransformation(id: string) {
	const rows = await privilegedDirect.query<Claimed>(Prisma.sql`
		WITH claimed AS (
			UPDATE transformations
			SET status = 'processing', attempts = attempts + 1, started_at = COALESCE(started_at, now()), updated_at = now()
			WHERE id = ${id}::uuid AND status IN ('queued', 'processing')
			RETURNING id, user_id, project_id, photo_id, status, provider, model, input, quality, attempts, batch_id, prediction_id,
				disclosure_label, credits_cost
		)
		SELECT ${RUN_COLUMNS},
			p.original_key AS "originalKey",
			(SELECT v.key FROM photo_variants v
				WHERE v.photo_id = t.photo_id AND v.kind = 'preview' AND v.transformation_id IS NULL LIMIT 1) AS "previewKey",
			(${IN_FLIGHT}) AS "inFlight",
			pg_notify(${PROJECT_EVENTS_CHANNEL},
				json_build_object('projectId', t.project_id, 'type', 'transformation', 'id', t.id, 'status', 'processing')::text)::text AS "notified"
		FROM claimed t LEFT JOIN photos p ON p.id = t.photo_id`)
	const claimed = rows[0]
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

/**
 * The transformation of a prediction, with the body of the verified webhook that announced its
 * end (webhook_events, null without one): one statement on the completion path.
 */
async function loadForCompletion(predictionId: string, webhookId: string | null) {
	const [row] = await privilegedDirect.query<Run & { payload: unknown }>(Prisma.sql`
		SELECT ${RUN_COLUMNS},
			(SELECT e.payload FROM webhook_events e WHERE e.provider = 'replicate' AND e.id = ${webhookId}) AS "payload"
		FROM transformations t WHERE t.prediction_id = ${predictionId}`)
	if (!row) return null
	const { payload, ...run } = row
	return { run, payload }
}

async function runLocally(run: Claimed) {
	if (!run.originalKey) throw new SourceMissingError()
	const original = await getStorage().get(run.originalKey)
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

/** The direct success transaction found that more must happen with it (finishWithImage): rolled back, done on Prisma. */
class NeedsFollowUps extends Error {
	override name = 'NeedsFollowUps'
}

async function startPrediction(run: Claimed) {
	const provider = replicate()
	if (run.predictionId) {
		// A retry after the prediction was created (crash, timeout): never create a second one.
		const state = await provider.get(run.predictionId)
		if (isTerminal(state)) await completePrediction(state)
		return
	}
	// The preview (≤ 1600 px WebP, no EXIF/GPS) is what the model sees: no personal metadata leaves.
	const previewKey = run.previewKey
	if (!previewKey) throw new SourceMissingError()
	await waitForRoom(run.inFlight)
	const storage = getStorage()
	const imageUrl = new URL(await storage.signedUrl(previewKey, { expiresInSeconds: INPUT_URL_TTL_SECONDS }), getEnv().APP_URL).toString()
	const { prompt, seed } = run.input as { prompt: string; seed: number }
	const prediction = await provider.create({
		model: run.model ?? '',
		input: buildModelInput({ prompt, imageUrl, seed }),
		webhookUrl: webhookUrl(),
	})
	// Stored before anything else can fail: from here the webhook or the reconcile job can finish it.
	// One statement: stored only if none was, and the status it found (cancelled meanwhile?).
	const stored = await privilegedDirect.query<{ status: string }>(Prisma.sql`
		UPDATE transformations SET prediction_id = ${prediction.id}, updated_at = now()
		WHERE id = ${run.id}::uuid AND prediction_id IS NULL
		RETURNING status::text AS "status"`)
	if (stored[0]?.status !== 'processing') {
		// Cancelled (or deleted) while we were creating it: stop paying for it.
		await provider.cancel(prediction.id).catch((error: unknown) => log.warn('prediction cancel failed', { id: run.id, error }))
		return
	}
	if (isTerminal(prediction)) await completePrediction(prediction)
}

function isTerminal(state: PredictionState) {
	return state.status === 'succeeded' || state.status === 'failed' || state.status === 'canceled'
}

const PREDICTION_ID_WAITS_MS = [50, 200, 1_000, 3_000]

/**
 * A verified webhook (webhook_events row `webhookId`) said this prediction finished. Its body is
 * the prediction's final state: used as it is when it is one (succeeded, failed or canceled never
 * change again). Otherwise (an older job without webhookId, an unexpected event) the state is read
 * from the API. A finished transformation is left alone whatever it is told.
 */
export async function completeFromWebhook(predictionId: string, webhookId: string | null) {
	let loaded = await loadForCompletion(predictionId, webhookId)
	// A fast prediction's webhook can overtake the worker storing its id (startPrediction stores it
	// once create() answers): wait for the id a little. Still unknown after that (a deleted
	// transformation, or a very late store): the reconcile job finishes whatever is still running.
	for (const delayMs of PREDICTION_ID_WAITS_MS) {
		if (loaded) break
		await new Promise((resolve) => setTimeout(resolve, delayMs))
		loaded = await loadForCompletion(predictionId, webhookId)
	}
	if (!loaded || loaded.run.status !== 'processing') return
	let state: PredictionState | null = null
	if (loaded.payload) {
		try {
			state = toState(loaded.payload)
		} catch {
			state = null
		}
	}
	if (!state || !isTerminal(state) || state.id !== predictionId) state = await replicate().get(predictionId)
	await completePrediction(state, loaded.run)
}

/**
 * A prediction reached a final state (webhook, reconcile or a job retry): download and store
 * the result and capture the credits, or fail and release them. Idempotent: a transformation
 * that is no longer `processing` is left alone. `loaded`: its row, when the caller just read it.
 */
export async function completePrediction(state: PredictionState, loaded?: Run) {
	const run = loaded ?? (await loadForCompletion(state.id, null))?.run
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
	// The three files are independent: written side by side, each durable (fsync) before the row flips.
	const variants: (Variant & { key: string })[] = output.variants.map((variant) => ({
		...variant,
		key: storageKeys.variant(run.userId, run.projectId, run.id, variant.kind),
	}))
	await Promise.all([
		storage.put(outputKey, output.full.data, {
			contentType: output.full.contentType,
			cacheControl: 'private, max-age=31536000, immutable',
		}),
		...variants.map((variant) =>
			storage.put(variant.key, variant.data, { contentType: variant.contentType, cacheControl: 'public, max-age=31536000, immutable' }),
		),
	])
	// The batch lock (see lockBatch) travels with the BEGIN. Then ONE statement: the row flips to
	// succeeded and, only if it did, both variants are written (a retry finds them there: same keys,
	// sizes refreshed), the credits are captured and the project's event is sent; with the batch's
	// counts after the flip (afterTransition).
	const reference = creditReference(run.id)
	const statement = Prisma.sql`
		WITH updated AS (
			UPDATE transformations SET status = 'succeeded', output_key = ${outputKey}, output_width = ${output.width}::int,
				output_height = ${output.height}::int, completed_at = now(), error_code = NULL, updated_at = now()
			WHERE id = ${run.id}::uuid AND status = 'processing'
			RETURNING id
		), variants AS (
			INSERT INTO photo_variants (user_id, photo_id, transformation_id, kind, key, content_type, width, height, size_bytes)
			SELECT v.* FROM (VALUES ${Prisma.join(
				variants.map(
					(variant) =>
						Prisma.sql`(${run.userId}::uuid, ${run.photoId}::uuid, ${run.id}::uuid, ${variant.kind}::variant_kind, ${variant.key},
							${variant.contentType}, ${variant.width}::int, ${variant.height}::int, ${variant.data.length}::bigint)`,
				),
			)}) AS v (user_id, photo_id, transformation_id, kind, key, content_type, width, height, size_bytes)
			WHERE EXISTS (SELECT 1 FROM updated)
			ON CONFLICT (key) DO UPDATE SET width = EXCLUDED.width, height = EXCLUDED.height, size_bytes = EXCLUDED.size_bytes
		), captured AS (
			${settlementInsert({ userId: run.userId, reference }, 'capture', Prisma.sql`${run.creditsCost}::int > 0 AND EXISTS (SELECT 1 FROM updated)`)}
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM updated)::int AS "updated", (SELECT count(*) FROM captured)::int AS "captured",
			${afterTransitionColumns(run, 'succeeded', Prisma.sql`EXISTS (SELECT 1 FROM updated)`)}
		FROM transformations t WHERE t.batch_id = ${run.batchId}::uuid`
	type Result = AfterTransition & { updated: number; captured: number }
	const lock = { space: BATCH_LOCK_SPACE, key: run.batchId }
	// The common case on the direct path (privilegedDirect: no Prisma on every completion). When the
	// statement says more must happen in the same transaction (the user's webhooks, the batch's
	// email, a capture without reservation), it is rolled back and done again on Prisma, whose model
	// queries those need. A user with a webhook endpoint takes that path at once.
	let done: boolean | undefined
	if (!run.listening) {
		try {
			done = await privilegedDirect.transaction(
				async (sql) => {
					const [result] = await sql.query<Result>(statement)
					if (!result?.updated) return false
					if (hasFollowUps(result, 'succeeded') || (run.creditsCost > 0 && !result.captured)) throw new NeedsFollowUps()
					return true
				},
				{ lock },
			)
		} catch (error) {
			if (!(error instanceof NeedsFollowUps)) throw error
		}
	}
	// Lookups by key only: one generic plan, not a plan per call (privilegedLocked's genericPlans).
	done ??= await privilegedLocked(
		lock,
		async (tx) => {
			const [result] = await tx.$queryRaw<Result[]>(statement)
			if (!result?.updated) return false
			// Nothing captured: already settled (fine) or no reservation at all (throws, the flip rolls back).
			if (run.creditsCost > 0 && !result.captured) await assertReserved(tx, { userId: run.userId, reference })
			await afterTransition(tx, run, 'succeeded', result)
			return true
		},
		{ genericPlans: true },
	)
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
		await afterTransition(tx, { id, ...row }, 'failed')
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
		await afterTransition(tx, { id, userId, projectId: row.projectId, batchId: row.batchId }, 'canceled')
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

/**
 * Serialises the final transitions of one batch: with the batch's lock held, exactly one
 * transaction sees the last transformation finish (two finishing together would each see the
 * other running). A transaction-scoped advisory lock on the batch id: one lock, where locking
 * every row of the batch (FOR UPDATE) wrote a row lock on each of them for every completion.
 */
async function lockBatch(tx: Tx, batchId: string) {
	await tx.$executeRaw`SELECT pg_advisory_xact_lock(${BATCH_LOCK_SPACE}::int, hashtext(${batchId}))`
}
/** The first key of the batch advisory locks (the two-int form: apart from any single-bigint lock). */
const BATCH_LOCK_SPACE = 7_010

/** The batch's counts after a final transition, and whether the user has a webhook endpoint at all. */
type AfterTransition = { running: number; succeeded: number; failed: number; notify: boolean | null; listening: boolean }

/**
 * The select list of a statement over the batch's rows (`t`) that gives AfterTransition once
 * `row` is `status`, and sends the project's event (pg_notify, delivered at commit) if `when`
 * holds. The row's own status is taken as `status`: a flip in the same statement (a CTE) is not
 * visible to the rest of that statement yet. Run with the batch lock held.
 */
function afterTransitionColumns(
	row: { id: string; userId: string; projectId: string },
	status: 'succeeded' | 'failed' | 'canceled',
	when = Prisma.sql`TRUE`,
) {
	const event: ProjectEvent = { projectId: row.projectId, type: 'transformation', id: row.id, status }
	const current = Prisma.sql`(CASE WHEN t.id = ${row.id}::uuid THEN ${status} ELSE t.status::text END)`
	return Prisma.sql`count(*) FILTER (WHERE ${current} IN ('queued', 'processing'))::int AS "running",
		count(*) FILTER (WHERE ${current} = 'succeeded')::int AS "succeeded",
		count(*) FILTER (WHERE ${current} = 'failed')::int AS "failed",
		bool_or(t.input -> 'notify' = 'true'::jsonb) AS "notify",
		EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.user_id = ${row.userId}::uuid AND e.disabled_at IS NULL) AS "listening",
		(CASE WHEN ${when} THEN pg_notify(${PROJECT_EVENTS_CHANNEL}, ${JSON.stringify(event)}) END)::text AS "notified"`
}

/**
 * What follows every final transition (succeeded, failed, canceled), in its transaction and with
 * the batch lock held: the project's event and the batch's counts (one statement, or `after`
 * when the transition's own statement gave them), then, only when they apply: the
 * `transformation.*` webhook event (not for a cancellation, which the user did), and at the
 * batch's end the email the user asked for and `batch.completed`.
 */
async function afterTransition(
	tx: Tx,
	row: { id: string; userId: string; projectId: string; batchId: string },
	status: 'succeeded' | 'failed' | 'canceled',
	given?: AfterTransition,
) {
	const after =
		given ??
		(
			await tx.$queryRaw<AfterTransition[]>`
				SELECT ${afterTransitionColumns(row, status)} FROM transformations t WHERE t.batch_id = ${row.batchId}::uuid`
		)[0]
	if (!after) return
	if (after.listening && status !== 'canceled') await emitTransformationEvent(tx, row.id)
	if (after.running > 0) return
	if (emailsBatch(after)) await emailBatchDone(tx, row, after)
	if (after.listening) await emitBatchCompleted(tx, row.batchId)
}

/** The batch ended and the user asked to be told of it, and something came of it. */
const emailsBatch = (after: AfterTransition) => after.running === 0 && Boolean(after.notify) && after.succeeded + after.failed > 0

/** Whether afterTransition has anything to do beyond the event and the counts (the events of a user with webhooks, the batch's email). */
function hasFollowUps(after: AfterTransition, status: 'succeeded' | 'failed' | 'canceled') {
	return (after.listening && (status !== 'canceled' || after.running === 0)) || emailsBatch(after)
}

/** The batch's last transformation ended and the user asked to be told: one email (same transaction). */
async function emailBatchDone(tx: Tx, row: { userId: string; projectId: string }, counts: { succeeded: number; failed: number }) {
	const user = await tx.user.findUniqueOrThrow({ where: { id: row.userId }, select: { email: true, locale: true } })
	const project = await tx.project.findUniqueOrThrow({ where: { id: row.projectId }, select: { name: true } })
	const link = new URL(`/projects/${row.projectId}`, getEnv().APP_URL).toString()
	const locale = isLocale(user.locale) ? user.locale : 'fr'
	await queueEmail(batchDoneEmail({ to: user.email, locale, projectName: project.name, ...counts, link }), { tx })
}
