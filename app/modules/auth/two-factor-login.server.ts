import crypto from 'node:crypto'
import { createCookie } from '@remix-run/node'
import { audit, clientIp } from '#app/modules/audit/audit.server.ts'
import { hashIp } from '#app/utils/crypto.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { createUserSession, hashSessionId } from './session.server.ts'
import { TwoFactorError, verifySecondFactor, type SecondFactorCode } from './two-factor.server.ts'

/**
 * The step between the email and the session for accounts with two-factor: a `sessions` row
 * flagged `second_factor_pending` (never accepted as a session) that expires in 10 minutes,
 * whose random id sits in this browser's signed `__2fa` cookie (the table holds its sha256).
 * The real session is created, with a new id, only after the second factor.
 */

const PENDING_TTL_MINUTES = 10

let cookie: ReturnType<typeof createCookie> | undefined
function pendingCookie() {
	const env = getEnv()
	return (cookie ??= createCookie('__2fa', {
		httpOnly: true,
		sameSite: 'lax',
		secure: env.NODE_ENV === 'production',
		path: '/',
		secrets: [env.SESSION_SECRET],
		maxAge: PENDING_TTL_MINUTES * 60,
	}))
}

/** Opens the second-factor step for `userId` in this browser; returns its Set-Cookie. */
export async function beginSecondFactor(userId: string, request: Request) {
	const raw = crypto.randomBytes(32).toString('base64url')
	// Privileged: nobody is logged in yet.
	await privileged().session.create({
		data: {
			id: hashSessionId(raw),
			userId,
			secondFactorPending: true,
			userAgent: request.headers.get('user-agent')?.slice(0, 300) ?? null,
			ipHash: hashIp(clientIp(request)),
			expiresAt: new Date(Date.now() + PENDING_TTL_MINUTES * 60_000),
		},
	})
	return pendingCookie().serialize(raw)
}

/** This browser's pending second-factor step, if it is still open. */
async function readPending(request: Request) {
	const raw: unknown = await pendingCookie().parse(request.headers.get('Cookie'))
	if (typeof raw !== 'string' || raw.length < 32) return null
	const id = hashSessionId(raw)
	const row = await privileged().session.findFirst({
		where: { id, secondFactorPending: true, revokedAt: null, expiresAt: { gt: new Date() } },
		select: { userId: true },
	})
	return row ? { id, userId: row.userId } : null
}

/** Whether this browser has a second-factor step open. */
export async function hasPendingSecondFactor(request: Request) {
	return (await readPending(request)) !== null
}

/**
 * Checks `code` for this browser's pending step and opens the session. Returns the Set-Cookie
 * headers (new session, step cleared). Throws TwoFactorError; a lock also closes the step.
 */
export async function completeSecondFactor(request: Request, code: SecondFactorCode) {
	const pending = await readPending(request)
	if (!pending) throw new TwoFactorError({ reason: 'expired' })
	let factor: 'totp' | 'recovery'
	try {
		factor = await verifySecondFactor({ userId: pending.userId, code, request })
	} catch (error) {
		if (error instanceof TwoFactorError && error.failure.reason === 'locked')
			await privileged().session.updateMany({ where: { id: pending.id }, data: { revokedAt: new Date() } })
		throw error
	}
	// Single use: of two concurrent completions, one consumes the step.
	const { count } = await privileged().session.deleteMany({ where: { id: pending.id, secondFactorPending: true, revokedAt: null } })
	if (count === 0) throw new TwoFactorError({ reason: 'expired' })
	const headers = new Headers()
	headers.append('Set-Cookie', await createUserSession(pending.userId, request))
	headers.append('Set-Cookie', await pendingCookie().serialize('', { maxAge: 0 }))
	await audit('login.succeeded', { userId: pending.userId, request, data: { secondFactor: factor } })
	return { userId: pending.userId, headers }
}
