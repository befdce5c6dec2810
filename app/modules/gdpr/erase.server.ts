import { audit } from '#app/modules/audit/audit.server.ts'
import { deleteCustomer, isBillingConfigured } from '#app/modules/billing/stripe.server.ts'
import { queueEmail } from '#app/modules/email/send.server.ts'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { replicate } from '#app/modules/transformations/run.server.ts'
import { keyedHash } from '#app/utils/crypto.server.ts'
import { privileged, type Tx } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { log } from '#app/utils/logger.server.ts'
import { accountDeletedEmail } from './deletion-email.server.ts'

/**
 * The erasure of an account (GDPR art. 17, decision 012), run by the `account-delete` job once
 * the user confirmed with the emailed code. Every step is idempotent and the order makes a kill
 * at any point safe to re-run: work is stopped first, then the Stripe customer and the stored
 * objects go, then every row in one transaction (the ledger included), with the farewell email
 * and the follow-up sweeps queued in that same transaction. Once the user row is gone, a run only
 * sweeps (objects and stored webhooks that came late).
 */

export type EraseStep = 'work' | 'stripe' | 'storage' | 'rows' | 'sweep'
export type EraseInput = { userId: string; stripeCustomerId?: string; sweep?: boolean }

/**
 * When the follow-up sweeps run. Deleting the customer makes Stripe send events about it (with
 * its email and our user id) after we are done; Stripe retries a failed delivery for 3 days.
 */
export const SWEEP_DELAYS_SECONDS = [3_600, 4 * 86_400]

/** Erases the account `userId` (or sweeps after it). `onStep` hears of each step done (logs; tests stop there). */
export async function eraseAccount(input: EraseInput, options: { onStep?: (step: EraseStep) => Promise<void> | void } = {}) {
	const step = async (name: EraseStep) => {
		log.info('account erasure step done', { step: name })
		await options.onStep?.(name)
	}
	const db = privileged()
	const { userId } = input
	const user = await db.user.findUnique({
		where: { id: userId },
		select: { email: true, locale: true, stripeCustomerId: true, deletionRequestedAt: true, creditBalance: true },
	})
	if (!user) {
		// Erased already (a re-run, or a follow-up sweep).
		await db.$transaction((tx) => deleteTraces(tx, { userId, stripeCustomerId: input.stripeCustomerId ?? null, email: null }))
		await getStorage().deletePrefix(storageKeys.user(userId))
		return step('sweep')
	}
	if (!user.deletionRequestedAt || input.sweep) {
		log.warn('account-delete job for an account that did not confirm a deletion: ignored', { userId })
		return
	}

	// 1. No more work: queued and running transformations are cancelled (their reserved credits go
	// with the ledger, so nothing is released), exports being prepared are dropped.
	const running = await db.transformation.findMany({
		where: { userId, status: 'processing', predictionId: { not: null } },
		select: { predictionId: true },
	})
	await db.transformation.updateMany({
		where: { userId, status: { in: ['queued', 'processing'] } },
		data: { status: 'canceled', completedAt: new Date() },
	})
	await db.dataExport.updateMany({ where: { userId, status: 'queued' }, data: { status: 'failed' } })
	if (getEnv().REPLICATE_API_TOKEN) {
		for (const { predictionId } of running)
			await replicate()
				.cancel(predictionId!)
				.catch((error: unknown) => log.warn('account erasure: prediction cancel failed', { error }))
	}
	await step('work')

	// 2. Stripe: subscriptions cancelled, customer deleted (invoices stay there).
	let stripe: 'none' | 'deleted' | 'missing' | 'skipped' = 'none'
	if (user.stripeCustomerId) {
		if (isBillingConfigured()) stripe = await deleteCustomer(user.stripeCustomerId)
		else {
			stripe = 'skipped'
			log.warn('account erasure: payments are not configured, the Stripe customer was not deleted', { userId })
		}
	}
	await step('stripe')

	// 3. Every stored object: originals, variants, results, style examples, exports.
	await getStorage().deletePrefix(storageKeys.user(userId))
	await step('storage')

	// 4. Every row, in one transaction: the user's (by cascade, the ledger included) and the traces
	// that are not linked by a foreign key. Then an anonymous record, the last email, the sweeps.
	await db.$transaction(async (tx) => {
		await tx.$executeRaw`SELECT set_config('renzo.ledger_erasure', 'on', true)`
		await deleteTraces(tx, { userId, stripeCustomerId: user.stripeCustomerId, email: user.email })
		const { count } = await tx.user.deleteMany({ where: { id: userId } })
		if (count === 0) return
		await audit('account.deleted', { userId: null, data: { forfeitedCredits: user.creditBalance, stripeCustomer: stripe } }, tx)
		await queueEmail(accountDeletedEmail({ to: user.email, locale: user.locale }), { tx })
		for (const [index, startAfter] of SWEEP_DELAYS_SECONDS.entries()) {
			const payload = { userId, sweep: true, ...(user.stripeCustomerId ? { stripeCustomerId: user.stripeCustomerId } : {}) }
			await enqueue('account-delete', payload, { tx, startAfter, singletonKey: `${userId}:sweep:${index}` })
		}
	})
	await step('rows')

	// 5. A job that was still writing during step 3 (a result, an export) may have left an object.
	await getStorage().deletePrefix(storageKeys.user(userId))
	await step('sweep')
}

/**
 * What names the user outside the rows that cascade from `users`: stored webhooks (Stripe and
 * Replicate payloads carry the customer, the email, our user id in metadata or storage URLs),
 * login attempts (by email), rate-limit windows, audit events without a user that mention them.
 */
async function deleteTraces(tx: Tx, who: { userId: string; stripeCustomerId: string | null; email: string | null }) {
	const quotedEmail = who.email ? JSON.stringify(who.email) : null
	await tx.$executeRaw`
		DELETE FROM webhook_events WHERE user_id = ${who.userId}::uuid
			OR strpos(payload::text, ${who.userId}) > 0 OR strpos(coalesce(error, ''), ${who.userId}) > 0
			OR (${who.stripeCustomerId}::text IS NOT NULL AND (strpos(payload::text, ${who.stripeCustomerId}::text) > 0
				OR strpos(coalesce(error, ''), ${who.stripeCustomerId}::text) > 0))
			OR (${quotedEmail}::text IS NOT NULL AND strpos(lower(payload::text), lower(${quotedEmail}::text)) > 0)`
	await tx.$executeRaw`DELETE FROM audit_events WHERE user_id IS NULL AND strpos(coalesce(data::text, ''), ${who.userId}) > 0`
	await tx.$executeRaw`DELETE FROM rate_limits WHERE strpos(key, ${who.userId}) > 0`
	if (who.email) {
		await tx.loginVerification.deleteMany({ where: { email: who.email } })
		await tx.rateLimit.deleteMany({ where: { key: `login-email:${keyedHash('rl-email', who.email)}` } })
	}
}
