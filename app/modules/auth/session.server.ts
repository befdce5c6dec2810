import crypto from 'node:crypto'
import { createCookie, redirect } from '@remix-run/node'
import { privileged, withUser } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { safeRedirect } from '#app/utils/redirect.ts'
import { audit, clientIp } from '#app/modules/audit/audit.server.ts'
import { hashIp } from '#app/utils/crypto.server.ts'
import { requestMemo } from '#app/utils/request-id.server.ts'
import { mustEnrolTwoFactor, TWO_FACTOR_SETTINGS_PATH } from './two-factor.server.ts'

/**
 * Database sessions (decision 005): the cookie holds a random id, signed; the table holds its
 * sha256, so neither a leaked table nor a forged cookie opens a session.
 */
let cookie: ReturnType<typeof createCookie> | undefined
function sessionCookie() {
	const env = getEnv()
	return (cookie ??= createCookie('__session', {
		httpOnly: true,
		sameSite: 'lax',
		secure: env.NODE_ENV === 'production',
		path: '/',
		secrets: [env.SESSION_SECRET],
		maxAge: env.SESSION_TTL_DAYS * 86_400,
	}))
}

/** The table key of a cookie's random id (sessions and pending second-factor steps). */
export const hashSessionId = (id: string) => crypto.createHash('sha256').update(id).digest('hex')
const LAST_SEEN_RESOLUTION_MS = 15 * 60_000

export type SessionUser = {
	id: string
	email: string
	role: 'agent' | 'admin'
	locale: 'fr' | 'en'
	creditBalance: number
	twoFactorEnabled: boolean
}
type Current = { sessionId: string; user: SessionUser } | null

async function readSession(request: Request): Promise<Current> {
	const raw: unknown = await sessionCookie().parse(request.headers.get('Cookie'))
	if (typeof raw !== 'string' || raw.length < 32) return null
	const sessionId = hashSessionId(raw)
	// Privileged: the session tells us who the user is, so RLS cannot apply yet. One statement
	// (Prisma's relation select sends one query per table); this runs on every page.
	const [row] = await privileged().$queryRaw<(SessionUser & { lastSeenAt: Date })[]>`
		SELECT s.last_seen_at AS "lastSeenAt", u.id, u.email, u.role::text AS role, u.locale::text AS locale, u.credit_balance AS "creditBalance",
		       u.totp_enabled_at IS NOT NULL AS "twoFactorEnabled"
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id = ${sessionId} AND NOT s.second_factor_pending AND s.revoked_at IS NULL AND s.expires_at > now()`
	if (!row) return null
	const { lastSeenAt, ...user } = row
	if (Date.now() - lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
		await privileged().session.update({ where: { id: sessionId }, data: { lastSeenAt: new Date() } })
	}
	return { sessionId, user }
}

const SESSION = Symbol('session')

/** This request's session, read once per HTTP request whatever the number of loaders. */
function current(request: Request): Promise<Current> {
	const memo = requestMemo(request)
	let session = memo.get(SESSION) as Promise<Current> | undefined
	if (!session) memo.set(SESSION, (session = readSession(request)))
	return session
}

/** The logged-in user of this request, or null. */
export async function getSessionUser(request: Request): Promise<SessionUser | null> {
	return (await current(request))?.user ?? null
}

/** The hashed id of this request's session, if any. */
export async function getSessionId(request: Request) {
	return (await current(request))?.sessionId ?? null
}

/**
 * The user, or a redirect to the login page that comes back here afterwards. An admin who must
 * have two-factor (REQUIRE_2FA_FOR_ADMINS) and has not set it up is sent to do so first.
 */
export async function requireUser(request: Request): Promise<SessionUser> {
	const user = await getSessionUser(request)
	const url = new URL(request.url)
	if (user) {
		if (mustEnrolTwoFactor(user) && url.pathname !== TWO_FACTOR_SETTINGS_PATH) throw redirect(TWO_FACTOR_SETTINGS_PATH)
		return user
	}
	const back = safeRedirect(`${url.pathname}${url.search}`, '/')
	throw redirect(back === '/' ? '/login' : `/login?${new URLSearchParams({ redirectTo: back })}`)
}

/** The logged-in admin; anyone else (logged out included) gets a 404, as if the page did not exist. */
export async function requireAdmin(request: Request): Promise<SessionUser> {
	const user = await getSessionUser(request)
	if (user?.role !== 'admin') throw new Response('Not found', { status: 404 })
	// Through requireUser: an admin who must set up two-factor (REQUIRE_2FA_FOR_ADMINS) is sent to do so first.
	return requireUser(request)
}

/** Starts a fresh session (a new id at every login: no fixation) and returns its Set-Cookie. */
export async function createUserSession(userId: string, request: Request) {
	const raw = crypto.randomBytes(32).toString('base64url')
	const env = getEnv()
	await privileged().session.create({
		data: {
			id: hashSessionId(raw),
			userId,
			userAgent: request.headers.get('user-agent')?.slice(0, 300) ?? null,
			ipHash: hashIp(clientIp(request)),
			expiresAt: new Date(Date.now() + env.SESSION_TTL_DAYS * 86_400_000),
		},
	})
	await audit('session.created', { userId, request })
	requestMemo(request).delete(SESSION)
	return sessionCookie().serialize(raw)
}

/** Ends this request's session and clears the cookie. */
export async function destroySession(request: Request) {
	const sessionId = await getSessionId(request)
	if (sessionId) await privileged().session.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date() } })
	requestMemo(request).delete(SESSION)
	return sessionCookie().serialize('', { maxAge: 0 })
}

/** The user's active sessions, newest activity first (through RLS). */
export function listSessions(userId: string) {
	return withUser(userId, (tx) =>
		tx.session.findMany({
			where: { userId, secondFactorPending: false, revokedAt: null, expiresAt: { gt: new Date() } },
			orderBy: { lastSeenAt: 'desc' },
			select: { id: true, userAgent: true, createdAt: true, lastSeenAt: true },
		}),
	)
}

/** Revokes every session of the user, or every one but `keep`. */
export async function revokeSessions(userId: string, options: { keep?: string | null; request: Request }) {
	const { count } = await withUser(userId, (tx) =>
		tx.session.updateMany({
			where: { userId, revokedAt: null, ...(options.keep ? { id: { not: options.keep } } : {}) },
			data: { revokedAt: new Date() },
		}),
	)
	if (!options.keep) requestMemo(options.request).delete(SESSION)
	await audit(options.keep ? 'session.revoked_others' : 'session.revoked_all', { userId, request: options.request, data: { count } })
}
