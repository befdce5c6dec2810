import { z } from 'zod'
import { audit } from '#app/modules/audit/audit.server.ts'
import { emailSchema } from '#app/modules/auth/login.server.ts'
import { adjust, InsufficientCreditsError } from '#app/modules/credits/ledger.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { privileged } from '#app/utils/db.server.ts'

/**
 * Credit adjustments by an admin (the page /admin/credits). Privileged connection throughout:
 * the admin reads and moves another user's credits, which RLS rightly forbids the web role.
 */

export const MAX_ADJUSTMENT = 100_000

export const adjustmentSchema = z.object({
	userId: z.uuid(),
	/** A random id rendered in the form: sending the same form twice moves the credits once. */
	key: z.uuid(),
	delta: z.coerce
		.number()
		.int()
		.min(-MAX_ADJUSTMENT)
		.max(MAX_ADJUSTMENT)
		.refine((n) => n !== 0),
	note: z.string().trim().min(1).max(500),
})

/** The account with exactly this email (after the login's normalisation), or null. */
export async function findAccount(rawEmail: string) {
	const email = emailSchema.safeParse(rawEmail)
	if (!email.success) return { invalid: true as const }
	const account = await privileged().user.findUnique({
		where: { email: email.data },
		select: { id: true, email: true, creditBalance: true },
	})
	return { email: email.data, account }
}

export type AdjustmentOutcome =
	{ ok: true; applied: boolean; balanceAfter: number | null } | { ok: false; error: MessageKey; vars?: Record<string, number> }

/**
 * Moves `delta` credits on the user's balance through the ledger, with the audit event on the
 * TARGET user (the admin's id in its data) in the same transaction. A balance that would go
 * negative is refused by the database's CHECK: nothing is written.
 */
export async function adjustCredits(input: {
	adminId: string
	userId: string
	delta: number
	note: string
	key: string
	request: Request
}): Promise<AdjustmentOutcome> {
	try {
		return await privileged().$transaction(async (tx) => {
			const exists = await tx.user.findUnique({ where: { id: input.userId }, select: { id: true } })
			if (!exists) return { ok: false, error: 'admin.credits.error.gone' } as const
			const movement = await adjust(tx, {
				userId: input.userId,
				credits: input.delta,
				idempotencyKey: `admin:${input.key}`,
				note: input.note,
			})
			if (movement.applied) {
				await audit(
					'credits.admin_adjustment',
					{
						userId: input.userId,
						request: input.request,
						data: { adminId: input.adminId, delta: input.delta, balanceAfter: movement.balanceAfter },
					},
					tx,
				)
			}
			return { ok: true, ...movement } as const
		})
	} catch (error) {
		if (!(error instanceof InsufficientCreditsError)) throw error
		const balance = await privileged().user.findUnique({ where: { id: input.userId }, select: { creditBalance: true } })
		return { ok: false, error: 'admin.credits.error.negative', vars: { balance: balance?.creditBalance ?? 0 } }
	}
}
