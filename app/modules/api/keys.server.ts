import crypto from 'node:crypto'
import { z } from 'zod'
import { audit } from '#app/modules/audit/audit.server.ts'
import { withUser } from '#app/utils/db.server.ts'

/**
 * API keys (decision 013): `rz_live_` + 48 hex characters (192 random bits). The database keeps
 * only the sha256 of the whole key (a high-entropy secret needs no slow hash) and a short prefix
 * the settings page shows; the key itself is shown once, at creation.
 */
export const KEY_PREFIX = 'rz_live_'
export const KEY_PATTERN = /^rz_live_[0-9a-f]{48}$/
const PREFIX_LENGTH = KEY_PREFIX.length + 8
/** Active keys a user may hold at once. */
export const MAX_ACTIVE_KEYS = 20

export const ApiKeyName = z.string().trim().min(1, 'apiKeys.error.nameRequired').max(80, 'apiKeys.error.nameTooLong')

/** The stored form of a key. */
export const hashApiKey = (key: string) => crypto.createHash('sha256').update(key).digest('hex')

export class TooManyKeysError extends Error {
	override name = 'TooManyKeysError'
}

/** Creates a key for the user; the returned `secret` is never stored nor shown again. */
export async function createApiKey(userId: string, name: string, request?: Request) {
	const secret = `${KEY_PREFIX}${crypto.randomBytes(24).toString('hex')}`
	const prefix = secret.slice(0, PREFIX_LENGTH)
	const key = await withUser(userId, async (tx) => {
		const active = await tx.apiKey.count({ where: { userId, revokedAt: null } })
		if (active >= MAX_ACTIVE_KEYS) throw new TooManyKeysError()
		const created = await tx.apiKey.create({ data: { userId, name, prefix, secretHash: hashApiKey(secret) }, select: { id: true } })
		await audit('api_key.created', { userId, request, data: { keyId: created.id, prefix } }, tx)
		return created
	})
	return { id: key.id, name, prefix, secret }
}

/** The user's keys, newest first (revoked ones too, so the page can say when). */
export function listApiKeys(userId: string) {
	return withUser(userId, (tx) =>
		tx.apiKey.findMany({
			where: { userId },
			orderBy: [{ revokedAt: { sort: 'desc', nulls: 'first' } }, { createdAt: 'desc' }],
			take: 100,
			select: { id: true, name: true, prefix: true, createdAt: true, lastUsedAt: true, revokedAt: true },
		}),
	)
}

/** Revokes one of the user's active keys at once; false when it is not theirs or already revoked. */
export async function revokeApiKey(userId: string, keyId: string, request?: Request) {
	if (!z.uuid().safeParse(keyId).success) return false
	return withUser(userId, async (tx) => {
		const { count } = await tx.apiKey.updateMany({ where: { id: keyId, userId, revokedAt: null }, data: { revokedAt: new Date() } })
		if (count !== 1) return false
		await audit('api_key.revoked', { userId, request, data: { keyId } }, tx)
		return true
	})
}
