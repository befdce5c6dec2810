import crypto from 'node:crypto'
import { audit } from '#app/modules/audit/audit.server.ts'
import { queueEmail } from '#app/modules/email/send.server.ts'
import type { Locale, MessageKey } from '#app/modules/i18n/catalog.ts'
import { enqueue } from '#app/modules/queue/boss.server.ts'
import { hitRateLimit } from '#app/modules/security/rate-limit.server.ts'
import { keyedHash, safeEqual } from '#app/utils/crypto.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { deletionCodeEmail } from './deletion-email.server.ts'

/**
 * Asking to delete one's account (GDPR art. 17), the same way as a login code (decision 005):
 * a 6-digit code emailed, stored as a keyed hash, valid 15 minutes, single use, locked after a
 * few wrong tries, sends rate limited. The right code marks the account, revokes every session
 * and queues the erasure job in ONE transaction (decision 012). All of it runs as the user,
 * through RLS.
 */

export const DELETION_CODE_TTL_MINUTES = 15
/** Wrong codes allowed on one code: the 5th wrong one locks it. */
export const DELETION_MAX_ATTEMPTS = 5
export const DELETION_CODES_PER_HOUR = 3

/** Why a step failed; each maps to a translated message. */
export type DeletionFailure =
	| { reason: 'rate_limited'; retryAfterSeconds: number }
	| { reason: 'invalid_code'; remaining: number }
	| { reason: 'locked' }
	| { reason: 'expired' }

export class DeletionError extends Error {
	constructor(readonly failure: DeletionFailure) {
		super(failure.reason)
		this.name = 'DeletionError'
	}
}

/** The message, its variables and the HTTP status of a failure. */
export function deletionProblem(failure: DeletionFailure): { error: MessageKey; vars?: Record<string, number>; status: number } {
	switch (failure.reason) {
		case 'rate_limited':
			return {
				error: 'accountDeletion.error.rateLimited',
				vars: { minutes: Math.max(1, Math.ceil(failure.retryAfterSeconds / 60)) },
				status: 429,
			}
		case 'invalid_code':
			return failure.remaining === 1
				? { error: 'accountDeletion.error.invalidCodeLast', status: 400 }
				: { error: 'accountDeletion.error.invalidCode', vars: { remaining: failure.remaining }, status: 400 }
		case 'locked':
			return { error: 'accountDeletion.error.locked', status: 429 }
		default:
			return { error: 'accountDeletion.error.expired', status: 400 }
	}
}

const codeHash = (codeId: string, code: string) => keyedHash('account-delete-code', `${codeId}:${code}`)

/** Whether the user has a code that can still be typed (the page then shows the code form). */
export async function hasPendingDeletionCode(userId: string) {
	const row = await withUser(userId, (tx) =>
		tx.accountDeletionCode.findFirst({
			where: { userId, usedAt: null },
			orderBy: { createdAt: 'desc' },
			select: { attempts: true, expiresAt: true },
		}),
	)
	return Boolean(row && row.attempts < DELETION_MAX_ATTEMPTS && row.expiresAt.getTime() > Date.now())
}

/** Emails a new code (older ones stop working). Throws DeletionError('rate_limited') past DELETION_CODES_PER_HOUR. */
export async function requestDeletionCode(input: { userId: string; email: string; locale: Locale; request: Request }) {
	const limit = await hitRateLimit(`account-delete:${input.userId}`, DELETION_CODES_PER_HOUR, 3600)
	if (!limit.allowed) {
		await audit('rate_limited', { userId: input.userId, request: input.request, data: { action: 'account-delete' } })
		throw new DeletionError({ reason: 'rate_limited', retryAfterSeconds: limit.retryAfterSeconds })
	}
	const id = crypto.randomUUID()
	const code = crypto.randomInt(0, 1_000_000).toString().padStart(6, '0')
	await withUser(input.userId, async (tx) => {
		await tx.accountDeletionCode.updateMany({ where: { userId: input.userId, usedAt: null }, data: { usedAt: new Date() } })
		await tx.accountDeletionCode.create({
			data: {
				id,
				userId: input.userId,
				codeHash: codeHash(id, code),
				expiresAt: new Date(Date.now() + DELETION_CODE_TTL_MINUTES * 60_000),
			},
			select: { id: true },
		})
		await audit('account.deletion_requested', { userId: input.userId, request: input.request }, tx)
		await queueEmail(deletionCodeEmail({ to: input.email, locale: input.locale, code, minutes: DELETION_CODE_TTL_MINUTES }), { tx })
	})
}

type Outcome = { confirmed: true } | { failure: DeletionFailure }

/**
 * Checks the typed code against the user's newest one. The right code, in one transaction: marks
 * the account (`deletion_requested_at`), revokes every session, records the audit event and
 * queues the `account-delete` job. A wrong one counts an attempt (and is audited).
 */
export async function confirmDeletion(input: { userId: string; code: string; request: Request }) {
	const outcome = await withUser(input.userId, async (tx): Promise<Outcome> => {
		const [row] = await tx.$queryRaw<{ id: string; code_hash: string; attempts: number; expires_at: Date }[]>`
			SELECT id, code_hash, attempts, expires_at FROM account_deletion_codes
			WHERE user_id = ${input.userId}::uuid AND used_at IS NULL ORDER BY created_at DESC LIMIT 1 FOR UPDATE`
		if (!row || row.expires_at.getTime() <= Date.now()) return { failure: { reason: 'expired' } }
		if (row.attempts >= DELETION_MAX_ATTEMPTS) return { failure: { reason: 'locked' } }
		if (!safeEqual(row.code_hash, codeHash(row.id, input.code))) {
			const attempts = row.attempts + 1
			await tx.accountDeletionCode.update({ where: { id: row.id }, data: { attempts }, select: { id: true } })
			const remaining = DELETION_MAX_ATTEMPTS - attempts
			return { failure: remaining > 0 ? { reason: 'invalid_code', remaining } : { reason: 'locked' } }
		}
		const now = new Date()
		await tx.accountDeletionCode.update({ where: { id: row.id }, data: { usedAt: now }, select: { id: true } })
		await tx.user.updateMany({ where: { id: input.userId, deletionRequestedAt: null }, data: { deletionRequestedAt: now } })
		await tx.session.updateMany({ where: { userId: input.userId, revokedAt: null }, data: { revokedAt: now } })
		await audit('account.deletion_confirmed', { userId: input.userId, request: input.request }, tx)
		await enqueue('account-delete', { userId: input.userId }, { tx, singletonKey: input.userId })
		return { confirmed: true }
	})
	if ('failure' in outcome) {
		await audit('account.deletion_code_failed', { userId: input.userId, request: input.request, data: { reason: outcome.failure.reason } })
		throw new DeletionError(outcome.failure)
	}
}
