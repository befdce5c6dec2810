import type { PrismaClient } from '#app/generated/prisma/client.ts'
import { isPgError, Prisma, type Tx } from '#app/utils/db.server.ts'

/**
 * The credit ledger (decision 002). Every movement is one append-only row; a trigger applies it
 * to users.credit_balance, which a CHECK keeps >= 0, and skips a row whose idempotency key was
 * already used. These functions are the only way the application moves credits.
 */

type Db = Tx | PrismaClient

export type GrantReason = 'welcome_bonus' | 'purchase' | 'subscription' | 'refund' | 'admin_adjustment'
export type Movement = { applied: boolean; balanceAfter: number | null }

/** The balance cannot cover the movement; nothing was written. */
export class InsufficientCreditsError extends Error {
	constructor() {
		super('insufficient credits')
		this.name = 'InsufficientCreditsError'
	}
}

/** A capture or release without a matching reservation. */
export class UnknownReservationError extends Error {
	constructor(reference: string) {
		super(`no reservation for ${reference}`)
		this.name = 'UnknownReservationError'
	}
}

async function insertMovement(
	db: Db,
	row: { userId: string; delta: number; reason: string; reference: string | null; idempotencyKey: string; note?: string | null },
): Promise<Movement> {
	if (!Number.isSafeInteger(row.delta)) throw new TypeError('credit movements are whole numbers')
	try {
		const rows = await db.$queryRaw<{ balance_after: number }[]>`
			INSERT INTO credit_ledger (user_id, delta, reason, reference, idempotency_key, note)
			VALUES (${row.userId}::uuid, ${row.delta}, ${row.reason}::ledger_reason, ${row.reference}, ${row.idempotencyKey}, ${row.note ?? null})
			RETURNING balance_after`
		// The trigger returns NULL (no row) when the idempotency key was already used.
		return rows[0] ? { applied: true, balanceAfter: rows[0].balance_after } : { applied: false, balanceAfter: null }
	} catch (error) {
		if (isPgError(error, '23514')) throw new InsufficientCreditsError()
		// Two transactions racing on the same key: the loser hits the unique index.
		if (isPgError(error, '23505')) return { applied: false, balanceAfter: null }
		throw error
	}
}

/** Adds credits (welcome bonus, purchase, plan renewal, refund, admin). Once per key. */
export function grant(
	db: Db,
	input: { userId: string; credits: number; reason: GrantReason; idempotencyKey: string; reference?: string; note?: string },
) {
	if (input.credits <= 0) throw new RangeError('a grant adds at least one credit')
	return insertMovement(db, {
		userId: input.userId,
		delta: input.credits,
		reason: input.reason,
		reference: input.reference ?? null,
		idempotencyKey: input.idempotencyKey,
		note: input.note,
	})
}

/**
 * An admin's correction, up or down (`credits` is signed, never 0). Once per key; throws
 * InsufficientCreditsError, writing nothing, if it would take the balance below zero.
 */
export function adjust(db: Db, input: { userId: string; credits: number; idempotencyKey: string; note: string; reference?: string }) {
	if (input.credits === 0) throw new RangeError('an adjustment moves at least one credit')
	return insertMovement(db, {
		userId: input.userId,
		delta: input.credits,
		reason: 'admin_adjustment',
		reference: input.reference ?? null,
		idempotencyKey: input.idempotencyKey,
		note: input.note,
	})
}

/**
 * Takes credits back for good (a refunded purchase, decision 011). Once per key; throws
 * InsufficientCreditsError if the balance cannot cover it: lock the user row and read the
 * balance first to take back only what is left.
 */
export function debit(
	db: Db,
	input: { userId: string; credits: number; reason: 'refund'; idempotencyKey: string; reference?: string; note?: string },
) {
	if (input.credits <= 0) throw new RangeError('a debit takes at least one credit')
	return insertMovement(db, {
		userId: input.userId,
		delta: -input.credits,
		reason: input.reason,
		reference: input.reference ?? null,
		idempotencyKey: input.idempotencyKey,
		note: input.note,
	})
}

/**
 * Takes credits out of the balance for work that may still fail (`reference`, e.g.
 * `transformation:<id>`). Throws InsufficientCreditsError if the balance cannot cover it.
 */
export function reserve(db: Db, input: { userId: string; credits: number; reference: string }) {
	if (input.credits <= 0) throw new RangeError('a reservation takes at least one credit')
	return insertMovement(db, {
		userId: input.userId,
		delta: -input.credits,
		reason: 'reservation',
		reference: input.reference,
		idempotencyKey: `reserve:${input.reference}`,
	})
}

/**
 * `reserve` for many references at once, in ONE statement (the ledger's trigger still applies
 * each row in turn): all of them or, if the balance cannot cover the lot, none (throws
 * InsufficientCreditsError and the statement writes nothing). Returns how many were applied
 * (a reference already reserved is skipped, as with `reserve`).
 */
export async function reserveMany(db: Db, input: { userId: string; credits: number; references: string[] }) {
	if (input.credits <= 0 || !Number.isSafeInteger(input.credits))
		throw new RangeError('a reservation takes a whole number of credits, at least one')
	if (input.references.length === 0) return 0
	try {
		const rows = await db.$queryRaw<{ balance_after: number }[]>`
			INSERT INTO credit_ledger (user_id, delta, reason, reference, idempotency_key)
			SELECT ${input.userId}::uuid, ${-input.credits}::int, 'reservation'::ledger_reason, ref, 'reserve:' || ref
			FROM unnest(${input.references}::text[]) WITH ORDINALITY AS r(ref, n)
			ORDER BY n
			RETURNING balance_after`
		return rows.length
	} catch (error) {
		if (isPgError(error, '23514')) throw new InsufficientCreditsError()
		throw error
	}
}

/**
 * The INSERT that settles a reservation (no RETURNING): the settling row is made from the
 * reservation itself (capture and release share one key: a reservation is settled exactly once,
 * one way); nothing is inserted when there is no such reservation of this user, when it was
 * already settled (the trigger skips the duplicate key), or when `when` is false. For a statement
 * that settles along with other changes (a data-modifying CTE: the transformation's flip to
 * succeeded and its capture are one statement); on its own through capture() and release().
 */
export function settlementInsert(input: { userId: string; reference: string }, outcome: 'capture' | 'release', when = Prisma.sql`TRUE`) {
	return Prisma.sql`
		INSERT INTO credit_ledger (user_id, delta, reason, reference, idempotency_key)
		SELECT r.user_id, CASE WHEN ${outcome} = 'capture' THEN 0 ELSE -r.delta END, ${outcome}::ledger_reason, ${input.reference},
			${`settle:${input.reference}`}
		FROM credit_ledger r WHERE r.idempotency_key = ${`reserve:${input.reference}`} AND r.user_id = ${input.userId}::uuid AND (${when})`
}

/**
 * After a settlement that inserted nothing: fine if the reservation exists (it was settled
 * already), UnknownReservationError if this user has none under that reference.
 */
export async function assertReserved(db: Db, input: { userId: string; reference: string }) {
	const reservation = await db.creditLedger.findUnique({
		where: { idempotencyKey: `reserve:${input.reference}` },
		select: { userId: true },
	})
	if (!reservation || reservation.userId !== input.userId) throw new UnknownReservationError(input.reference)
}

async function settle(db: Db, input: { userId: string; reference: string }, outcome: 'capture' | 'release'): Promise<Movement> {
	// One statement. No row back means no such reservation of this user, or one already settled.
	let rows: { balance_after: number }[]
	try {
		rows = await db.$queryRaw<{ balance_after: number }[]>`${settlementInsert(input, outcome)} RETURNING balance_after`
	} catch (error) {
		// Two transactions racing on the same key: the loser hits the unique index.
		if (isPgError(error, '23505')) return { applied: false, balanceAfter: null }
		throw error
	}
	if (rows[0]) return { applied: true, balanceAfter: rows[0].balance_after }
	await assertReserved(db, input)
	return { applied: false, balanceAfter: null }
}

/** The reserved work succeeded: the credits are spent for good (a zero-delta record). */
export function capture(db: Db, input: { userId: string; reference: string }) {
	return settle(db, input, 'capture')
}

/** The reserved work failed or was cancelled: the credits go back to the balance. */
export function release(db: Db, input: { userId: string; reference: string }) {
	return settle(db, input, 'release')
}

/** How a reservation ended, if it has. */
export async function settlementOf(db: Db, reference: string): Promise<'capture' | 'release' | null> {
	const row = await db.creditLedger.findUnique({ where: { idempotencyKey: `settle:${reference}` }, select: { reason: true } })
	return row ? (row.reason as 'capture' | 'release') : null
}

/** The user's current balance. */
export async function getBalance(db: Db, userId: string): Promise<number> {
	const user = await db.user.findUnique({ where: { id: userId }, select: { creditBalance: true } })
	return user?.creditBalance ?? 0
}

/** A page of the user's movements, newest first; `before` is the `seq` of the last row shown. */
export async function listMovements(db: Db, userId: string, options: { take?: number; before?: bigint } = {}) {
	return db.creditLedger.findMany({
		where: { userId, ...(options.before !== undefined ? { seq: { lt: options.before } } : {}) },
		orderBy: { seq: 'desc' },
		take: options.take ?? 50,
		select: { id: true, seq: true, delta: true, reason: true, reference: true, balanceAfter: true, note: true, createdAt: true },
	})
}
