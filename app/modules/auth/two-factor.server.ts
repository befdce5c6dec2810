import crypto from 'node:crypto'
import { audit } from '#app/modules/audit/audit.server.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { hitRateLimit } from '#app/modules/security/rate-limit.server.ts'
import { keyedHash, seal, unseal } from '#app/utils/crypto.server.ts'
import { privileged, type Tx } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { newTotpSecret, qrCodeDataUrl, totpTimeStep, totpUri } from './totp.server.ts'

/**
 * Optional two-factor authentication: an authenticator-app code (TOTP) asked after the email
 * step, or one of 10 single-use recovery codes. The secret is sealed (AES-GCM) in
 * users.totp_secret; it becomes active (totp_enabled_at) only once a code from it is typed.
 * Recovery codes are keyed hashes. Every check counts against one per-user limit, shared by
 * the login page and the settings page; a TOTP step is accepted once (totp_last_used_step).
 *
 * Privileged connection throughout: the web role may not read or write the totp_* columns,
 * and at login nobody is logged in yet.
 */

export const RECOVERY_CODE_COUNT = 10
/** Code checks per user and 15-minute window (a success clears the count): the 5th wrong one locks. */
export const TWO_FACTOR_MAX_ATTEMPTS = 5
const ATTEMPT_WINDOW_SECONDS = 15 * 60
/** Where an account sets up two-factor (and where admins are sent when it is required). */
export const TWO_FACTOR_SETTINGS_PATH = '/settings/two-factor'

/** Why a second-factor check failed; each maps to a translated message. */
export type TwoFactorFailure =
	| { reason: 'invalid_code'; remaining: number }
	| { reason: 'reused_code'; remaining: number }
	| { reason: 'locked'; retryAfterSeconds: number }
	| { reason: 'expired' }
	| { reason: 'required' }

export class TwoFactorError extends Error {
	constructor(readonly failure: TwoFactorFailure) {
		super(failure.reason)
		this.name = 'TwoFactorError'
	}
}

/** The message and HTTP status of a failure, for the login and settings pages. */
export function twoFactorProblem(failure: TwoFactorFailure): { error: MessageKey; vars?: Record<string, number>; status: number } {
	switch (failure.reason) {
		case 'invalid_code':
			return failure.remaining === 1
				? { error: 'twoFactor.error.invalidCodeLast', status: 400 }
				: { error: 'twoFactor.error.invalidCode', vars: { remaining: failure.remaining }, status: 400 }
		case 'reused_code':
			return { error: 'twoFactor.error.reusedCode', status: 400 }
		case 'locked':
			return { error: 'twoFactor.error.locked', vars: { minutes: Math.max(1, Math.ceil(failure.retryAfterSeconds / 60)) }, status: 429 }
		case 'required':
			return { error: 'twoFactor.error.required', status: 400 }
		default:
			return { error: 'twoFactor.error.expired', status: 400 }
	}
}

/** True when this account must set up two-factor before anything else (REQUIRE_2FA_FOR_ADMINS). */
export function mustEnrolTwoFactor(user: { role: string; twoFactorEnabled: boolean }) {
	return !user.twoFactorEnabled && twoFactorRequiredFor(user)
}

/** True when the configuration forbids this account to go without two-factor. */
export function twoFactorRequiredFor(user: { role: string }) {
	return user.role === 'admin' && getEnv().REQUIRE_2FA_FOR_ADMINS
}

export type SecondFactorCode = { kind: 'totp' | 'recovery'; value: string }

/** A typed code: 6 digits (spaces allowed) or a 10-character recovery code (case, dashes and spaces ignored). */
export function parseSecondFactorCode(raw: unknown): SecondFactorCode | null {
	const compact = String(raw ?? '')
		.replace(/[\s-]+/g, '')
		.toLowerCase()
	if (/^\d{6}$/.test(compact)) return { kind: 'totp', value: compact }
	if (/^[a-z0-9]{10}$/.test(compact)) return { kind: 'recovery', value: compact }
	return null
}

// Recovery codes: no 0/o, 1/l/i to misread on paper. 10 characters ≈ 50 bits.
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'
const recoveryHash = (userId: string, code: string) => keyedHash('recovery-code', `${userId}:${code}`)

function newRecoveryCodes() {
	return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
		const chars = Array.from({ length: 10 }, () => RECOVERY_ALPHABET[crypto.randomInt(RECOVERY_ALPHABET.length)]).join('')
		return `${chars.slice(0, 5)}-${chars.slice(5)}`
	})
}

/** Replaces every recovery code of the user by `codes` (stored hashed). */
async function replaceRecoveryCodes(tx: Tx, userId: string, codes: string[]) {
	await tx.recoveryCode.deleteMany({ where: { userId } })
	await tx.recoveryCode.createMany({
		data: codes.map((code) => ({ userId, codeHash: recoveryHash(userId, code.replace('-', '')) })),
	})
}

function readTotp(userId: string) {
	return privileged().user.findUnique({
		where: { id: userId },
		select: { totpSecret: true, totpEnabledAt: true },
	})
}

type Verdict<T> = { ok: T } | { wrong: 'invalid_code' | 'reused_code' } | { gone: true }

/**
 * Runs one code check under the per-user attempt limit: the attempt is counted before the
 * check (concurrent guesses are all counted), and the counter is cleared on success.
 */
async function limited<T>(userId: string, request: Request, check: () => Promise<Verdict<T>>): Promise<T> {
	const key = `two-factor:${userId}`
	const limit = await hitRateLimit(key, TWO_FACTOR_MAX_ATTEMPTS, ATTEMPT_WINDOW_SECONDS)
	if (!limit.allowed) throw new TwoFactorError({ reason: 'locked', retryAfterSeconds: limit.retryAfterSeconds })
	const verdict = await check()
	if ('ok' in verdict) {
		await privileged().rateLimit.deleteMany({ where: { key } })
		return verdict.ok
	}
	if ('gone' in verdict) throw new TwoFactorError({ reason: 'expired' })
	const locked = limit.remaining === 0
	await audit(locked ? 'login.locked' : 'two_factor.code_failed', { userId, request, data: { factor: 'second', reason: verdict.wrong } })
	throw new TwoFactorError(
		locked ? { reason: 'locked', retryAfterSeconds: limit.retryAfterSeconds } : { reason: verdict.wrong, remaining: limit.remaining },
	)
}

/** Checks an authenticator code of an active setup and records its time step (compare-and-set). */
async function useTotp(userId: string, code: string): Promise<Verdict<'totp'>> {
	const row = await readTotp(userId)
	if (!row?.totpSecret || !row.totpEnabledAt) return { gone: true }
	const step = await totpTimeStep(unseal<string>(row.totpSecret), code)
	if (step === null) return { wrong: 'invalid_code' }
	// Atomic: of two requests with the same code, one wins; an older step never comes back.
	const updated = await privileged().$executeRaw`
		UPDATE users SET totp_last_used_step = ${step}
		WHERE id = ${userId}::uuid AND totp_enabled_at IS NOT NULL
		  AND (totp_last_used_step IS NULL OR totp_last_used_step < ${step})`
	return updated === 1 ? { ok: 'totp' } : { wrong: 'reused_code' }
}

/** Spends one unused recovery code. */
async function useRecoveryCode(userId: string, code: string): Promise<Verdict<'recovery'>> {
	const updated = await privileged().$executeRaw`
		UPDATE recovery_codes SET used_at = now()
		WHERE id = (SELECT id FROM recovery_codes WHERE user_id = ${userId}::uuid AND code_hash = ${recoveryHash(userId, code)} AND used_at IS NULL LIMIT 1)
		  AND used_at IS NULL`
	return updated === 1 ? { ok: 'recovery' } : { wrong: 'invalid_code' }
}

/** Checks a second factor of an account that has two-factor on; returns which kind was used. */
export async function verifySecondFactor(input: { userId: string; code: SecondFactorCode; request: Request }) {
	const kind = await limited(input.userId, input.request, () =>
		input.code.kind === 'totp' ? useTotp(input.userId, input.code.value) : useRecoveryCode(input.userId, input.code.value),
	)
	if (kind === 'recovery') {
		const remaining = await privileged().recoveryCode.count({ where: { userId: input.userId, usedAt: null } })
		await audit('two_factor.recovery_used', { userId: input.userId, request: input.request, data: { remaining } })
	}
	return kind
}

/** What the settings page shows: status, remaining recovery codes, and an enrolment in progress. */
export async function twoFactorSettings(user: { id: string; email: string; role: string }) {
	const row = await privileged().user.findUniqueOrThrow({
		where: { id: user.id },
		select: { totpSecret: true, totpEnabledAt: true, _count: { select: { recoveryCodes: { where: { usedAt: null } } } } },
	})
	let enrolment: { qrCode: string; manualKey: string } | null = null
	if (row.totpSecret && !row.totpEnabledAt) {
		const secret = unseal<string>(row.totpSecret)
		enrolment = { qrCode: await qrCodeDataUrl(totpUri(secret, user.email)), manualKey: secret.replace(/(.{4})(?=.)/g, '$1 ') }
	}
	return {
		enabledAt: row.totpEnabledAt,
		recoveryCodesLeft: row._count.recoveryCodes,
		enrolment,
		required: twoFactorRequiredFor(user),
	}
}

/** Starts (or restarts) an enrolment with a new sealed secret; refused once two-factor is on. */
export async function startEnrolment(userId: string) {
	const { count } = await privileged().user.updateMany({
		where: { id: userId, totpEnabledAt: null },
		data: { totpSecret: seal(newTotpSecret()), totpLastUsedStep: null },
	})
	if (count === 0) throw new TwoFactorError({ reason: 'expired' })
}

/** Abandons an enrolment in progress (an active setup is left alone). */
export async function cancelEnrolment(userId: string) {
	await privileged().user.updateMany({ where: { id: userId, totpEnabledAt: null }, data: { totpSecret: null } })
}

/**
 * Activates two-factor with a code from the pending secret; returns the recovery codes, to be
 * shown once. The secret compared is the one the code was checked against (a restarted
 * enrolment in another tab is not activated by an old code).
 */
export async function confirmEnrolment(input: { userId: string; code: SecondFactorCode; request: Request }): Promise<string[]> {
	const codes = await limited(input.userId, input.request, async (): Promise<Verdict<string[]>> => {
		const row = await readTotp(input.userId)
		if (!row?.totpSecret || row.totpEnabledAt) return { gone: true }
		if (input.code.kind !== 'totp') return { wrong: 'invalid_code' }
		const step = await totpTimeStep(unseal<string>(row.totpSecret), input.code.value)
		if (step === null) return { wrong: 'invalid_code' }
		const sealed = row.totpSecret
		const recoveryCodes = newRecoveryCodes()
		const activated = await privileged().$transaction(async (tx) => {
			const updated = await tx.$executeRaw`
				UPDATE users SET totp_enabled_at = now(), totp_last_used_step = ${step}
				WHERE id = ${input.userId}::uuid AND totp_enabled_at IS NULL AND totp_secret = ${sealed}`
			if (updated !== 1) return false
			await replaceRecoveryCodes(tx, input.userId, recoveryCodes)
			await audit('two_factor.enabled', { userId: input.userId, request: input.request }, tx)
			return true
		})
		return activated ? { ok: recoveryCodes } : { gone: true }
	})
	return codes
}

/** New recovery codes (the old ones stop working), after a current code (or a recovery code). */
export async function regenerateRecoveryCodes(input: { userId: string; code: SecondFactorCode; request: Request }) {
	await verifySecondFactor(input)
	const codes = newRecoveryCodes()
	await privileged().$transaction(async (tx) => {
		await replaceRecoveryCodes(tx, input.userId, codes)
		await audit('two_factor.recovery_regenerated', { userId: input.userId, request: input.request }, tx)
	})
	return codes
}

/** Turns two-factor off after a current code or a recovery code; refused when it is required. */
export async function disableTwoFactor(input: { user: { id: string; role: string }; code: SecondFactorCode; request: Request }) {
	if (twoFactorRequiredFor(input.user)) throw new TwoFactorError({ reason: 'required' })
	await verifySecondFactor({ userId: input.user.id, code: input.code, request: input.request })
	await privileged().$transaction(async (tx) => {
		await tx.user.update({
			where: { id: input.user.id },
			data: { totpSecret: null, totpEnabledAt: null, totpLastUsedStep: null },
			select: { id: true },
		})
		await tx.recoveryCode.deleteMany({ where: { userId: input.user.id } })
		await audit('two_factor.disabled', { userId: input.user.id, request: input.request }, tx)
	})
}
