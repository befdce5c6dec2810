import { isLocale, type Locale } from '#app/modules/i18n/catalog.ts'
import { privileged } from '#app/utils/db.server.ts'
import { ApiError } from './errors.server.ts'
import { hashApiKey, KEY_PATTERN } from './keys.server.ts'

/** Who an API request acts for: the owner of its key. */
export type ApiUser = { id: string; locale: Locale; keyId: string }

/** last_used_at moves at most this often: one write a minute per key, not one per request. */
const LAST_USED_RESOLUTION_SECONDS = 60

/** The header that must answer a 401 (RFC 6750). */
export const WWW_AUTHENTICATE = { 'WWW-Authenticate': 'Bearer realm="renzo-api"' }

/**
 * The owner of the `Authorization: Bearer <key>` of this request, or a 401. Only that header
 * counts: a session cookie never authenticates the API (that is why /api/ may skip the CSRF
 * check, decision 006). Everything the request then does runs in `withUser(owner)` like the web.
 */
export async function authenticate(request: Request): Promise<ApiUser> {
	const match = /^Bearer +(\S+) *$/i.exec(request.headers.get('authorization') ?? '')
	const key = match?.[1]
	// A malformed key costs no query.
	if (!key || !KEY_PATTERN.test(key)) throw unauthorized()
	// Privileged: the key is what tells us who the user is, so RLS cannot apply yet (as for sessions).
	const [row] = await privileged().$queryRaw<{ id: string; userId: string; locale: string; stale: boolean; deleting: boolean }[]>`
		SELECT k.id, k.user_id AS "userId", u.locale::text AS locale, u.deletion_requested_at IS NOT NULL AS deleting,
		       (k.last_used_at IS NULL OR k.last_used_at < now() - make_interval(secs => ${LAST_USED_RESOLUTION_SECONDS})) AS stale
		FROM api_keys k JOIN users u ON u.id = k.user_id
		WHERE k.secret_hash = ${hashApiKey(key)} AND k.revoked_at IS NULL`
	if (!row) throw unauthorized()
	const user: ApiUser = { id: row.userId, locale: isLocale(row.locale) ? row.locale : 'fr', keyId: row.id }
	if (row.deleting) throw new ApiError('account_deleting', 'api.error.accountDeleting', {}, { locale: user.locale })
	if (row.stale) {
		// Conditional, so concurrent requests of the same minute write once.
		await privileged().$executeRaw`
			UPDATE api_keys SET last_used_at = now()
			WHERE id = ${row.id}::uuid AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => ${LAST_USED_RESOLUTION_SECONDS}))`
	}
	return user
}

function unauthorized() {
	return new ApiError('unauthorized', 'api.error.unauthorized', {}, { headers: WWW_AUTHENTICATE })
}
