import crypto from 'node:crypto'
import { createCookie } from '@remix-run/node'
import { z } from 'zod'
import { audit, clientIp } from '#app/modules/audit/audit.server.ts'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { queueEmail } from '#app/modules/email/send.server.ts'
import { loginEmail } from '#app/modules/email/templates.server.ts'
import type { Locale } from '#app/modules/i18n/catalog.ts'
import { hitRateLimit } from '#app/modules/security/rate-limit.server.ts'
import { hashIp, keyedHash, safeEqual } from '#app/utils/crypto.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'

/**
 * Passwordless login (decision 005): one email carries a magic link AND a 6-digit code.
 * Both are stored as keyed hashes on a `login_verifications` row that expires, is single
 * use and locks after a few wrong codes. The link only works in the browser that asked
 * (a nonce cookie); the code works anywhere that browser's form is.
 */

export const emailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email())

/** Why a login step failed; each maps to a translated message. */
export type LoginFailure =
	| { reason: 'rate_limited'; retryAfterSeconds: number }
	| { reason: 'invalid_code'; remaining: number }
	| { reason: 'locked' }
	| { reason: 'expired' }
	| { reason: 'other_browser' }
	/** The account asked to be deleted (decision 012): it can no longer be logged into. */
	| { reason: 'deletion_pending' }

export class LoginError extends Error {
	constructor(readonly failure: LoginFailure) {
		super(failure.reason)
		this.name = 'LoginError'
	}
}

/** The pending login of this browser: which verification, and the nonce that proves it is us. */
let pendingCookie: ReturnType<typeof createCookie> | undefined
export function loginCookie() {
	const env = getEnv()
	return (pendingCookie ??= createCookie('__login', {
		httpOnly: true,
		sameSite: 'lax',
		secure: env.NODE_ENV === 'production',
		path: '/',
		secrets: [env.SESSION_SECRET],
		maxAge: env.LOGIN_CODE_TTL_MINUTES * 60,
	}))
}
export type PendingLogin = { verificationId: string; nonce: string; email: string }

const codeHash = (verificationId: string, code: string) => keyedHash('login-code', `${verificationId}:${code}`)
const tokenHash = (token: string) => keyedHash('login-token', token)
const browserHash = (nonce: string) => keyedHash('login-browser', nonce)

/**
 * Creates a verification and queues its email, after the per-address and per-IP limits.
 * Returns the pending-login cookie to set on this browser.
 */
export async function requestLogin(input: { email: string; locale: Locale; request: Request; redirectTo?: string }) {
	const env = getEnv()
	const ipHash = hashIp(clientIp(input.request))
	const perEmail = await hitRateLimit(`login-email:${keyedHash('rl-email', input.email)}`, env.LOGIN_EMAILS_PER_ADDRESS_PER_HOUR, 3600)
	const perIp = await hitRateLimit(`login-ip:${ipHash ?? 'unknown'}`, env.LOGIN_EMAILS_PER_IP_PER_HOUR, 3600)
	if (!perEmail.allowed || !perIp.allowed) {
		await audit('login.rate_limited', { request: input.request })
		const retryAfterSeconds = Math.max(perEmail.allowed ? 0 : perEmail.retryAfterSeconds, perIp.allowed ? 0 : perIp.retryAfterSeconds)
		throw new LoginError({ reason: 'rate_limited', retryAfterSeconds })
	}

	const verificationId = crypto.randomUUID()
	const code = crypto.randomInt(0, 1_000_000).toString().padStart(6, '0')
	const token = crypto.randomBytes(32).toString('base64url')
	const nonce = crypto.randomBytes(24).toString('base64url')
	const link = new URL('/login/verify', env.APP_URL)
	link.searchParams.set('token', token)
	if (input.redirectTo && input.redirectTo !== '/') link.searchParams.set('redirectTo', input.redirectTo)

	// Privileged: nobody is logged in yet. The row and its email job commit together.
	await privileged().$transaction(async (tx) => {
		// Only the newest email works: older pending codes for this address are retired.
		await tx.loginVerification.updateMany({ where: { email: input.email, usedAt: null }, data: { usedAt: new Date() } })
		await tx.loginVerification.create({
			data: {
				id: verificationId,
				email: input.email,
				codeHash: codeHash(verificationId, code),
				tokenHash: tokenHash(token),
				browserHash: browserHash(nonce),
				ipHash,
				expiresAt: new Date(Date.now() + env.LOGIN_CODE_TTL_MINUTES * 60_000),
			},
		})
		await queueEmail(
			loginEmail({ to: input.email, locale: input.locale, code, link: link.toString(), minutes: env.LOGIN_CODE_TTL_MINUTES }),
			{ tx },
		)
	})
	await audit('login.email_requested', { request: input.request })
	const pending: PendingLogin = { verificationId, nonce, email: input.email }
	return loginCookie().serialize(pending)
}

/** Reads this browser's pending login, if any. */
export async function readPendingLogin(request: Request): Promise<PendingLogin | null> {
	const value: unknown = await loginCookie().parse(request.headers.get('Cookie'))
	const parsed = z.object({ verificationId: z.uuid(), nonce: z.string().min(16), email: z.string() }).safeParse(value)
	return parsed.success ? parsed.data : null
}

type Outcome = { email: string } | { failure: LoginFailure }

/** Checks a typed code against the pending verification; returns the email on success. */
export async function verifyCode(input: { verificationId: string; code: string; request: Request }): Promise<string> {
	const env = getEnv()
	const outcome = await privileged().$transaction(async (tx): Promise<Outcome> => {
		const [row] = await tx.$queryRaw<{ email: string; code_hash: string; attempts: number; expires_at: Date; used_at: Date | null }[]>`
			SELECT email, code_hash, attempts, expires_at, used_at FROM login_verifications WHERE id = ${input.verificationId}::uuid FOR UPDATE`
		if (!row || row.used_at || row.expires_at.getTime() <= Date.now()) return { failure: { reason: 'expired' } as LoginFailure }
		if (row.attempts >= env.LOGIN_MAX_ATTEMPTS) return { failure: { reason: 'locked' } as LoginFailure }
		if (!safeEqual(row.code_hash, codeHash(input.verificationId, input.code))) {
			const attempts = row.attempts + 1
			await tx.loginVerification.update({ where: { id: input.verificationId }, data: { attempts } })
			const remaining = env.LOGIN_MAX_ATTEMPTS - attempts
			return { failure: (remaining > 0 ? { reason: 'invalid_code', remaining } : { reason: 'locked' }) as LoginFailure }
		}
		await tx.loginVerification.update({ where: { id: input.verificationId }, data: { usedAt: new Date() } })
		return { email: row.email }
	})
	if ('failure' in outcome) {
		await audit(outcome.failure.reason === 'locked' ? 'login.locked' : 'login.code_failed', {
			request: input.request,
			data: { reason: outcome.failure.reason },
		})
		throw new LoginError(outcome.failure)
	}
	return outcome.email
}

/** Consumes a magic link opened in the browser that asked for it; returns the email. */
export async function verifyLink(input: { token: string; nonce: string | null; request: Request }): Promise<string> {
	const outcome = await privileged().$transaction(async (tx): Promise<Outcome> => {
		const [row] = await tx.$queryRaw<
			{ id: string; email: string; browser_hash: string; attempts: number; expires_at: Date; used_at: Date | null }[]
		>`
			SELECT id, email, browser_hash, attempts, expires_at, used_at FROM login_verifications WHERE token_hash = ${tokenHash(input.token)} FOR UPDATE`
		if (!row || row.used_at || row.expires_at.getTime() <= Date.now() || row.attempts >= getEnv().LOGIN_MAX_ATTEMPTS)
			return { failure: { reason: 'expired' } as LoginFailure }
		// Another browser: refuse without consuming, so the code still works where it was asked.
		if (!input.nonce || !safeEqual(row.browser_hash, browserHash(input.nonce)))
			return { failure: { reason: 'other_browser' } as LoginFailure }
		await tx.loginVerification.update({ where: { id: row.id }, data: { usedAt: new Date() } })
		return { email: row.email }
	})
	if ('failure' in outcome) {
		await audit('login.code_failed', { request: input.request, data: { reason: outcome.failure.reason, via: 'link' } })
		throw new LoginError(outcome.failure)
	}
	return outcome.email
}

/**
 * The account for `email`, created at first login with the welcome bonus, granted exactly
 * once (idempotency key `welcome:<userId>`), in the same transaction as the account.
 */
export async function findOrCreateUser(email: string, locale: Locale, request: Request) {
	const db = privileged()
	const existing = await db.user.findUnique({ where: { email }, select: { id: true } })
	if (existing) return { id: existing.id, created: false }
	const user = await db.$transaction(async (tx) => {
		const [created] = await tx.$queryRaw<{ id: string }[]>`
			INSERT INTO users (email, locale) VALUES (${email}, ${locale}::locale) ON CONFLICT (email) DO NOTHING RETURNING id`
		// A concurrent first login created it: use theirs.
		if (!created) return { id: (await tx.user.findUniqueOrThrow({ where: { email }, select: { id: true } })).id, created: false }
		const credits = getEnv().WELCOME_CREDITS
		if (credits > 0) await grant(tx, { userId: created.id, credits, reason: 'welcome_bonus', idempotencyKey: `welcome:${created.id}` })
		await audit('account.created', { userId: created.id, request }, tx)
		return { id: created.id, created: true }
	})
	return user
}
