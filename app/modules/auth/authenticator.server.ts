import { audit } from '#app/modules/audit/audit.server.ts'
import { resolveLocale } from '#app/modules/i18n/locale.server.ts'
import { findOrCreateUser, loginCookie } from './login.server.ts'
import { createUserSession } from './session.server.ts'
import { createAuthenticator } from './strategy.server.ts'

export const authenticator = createAuthenticator(async ({ email, request }) =>
	findOrCreateUser(email, await resolveLocale(request), request),
)

/**
 * Authenticates the request (link or code) and opens a session. Returns the Set-Cookie
 * headers (new session, pending login cleared). Throws LoginError on failure.
 */
export async function completeLogin(request: Request) {
	const user = await authenticator.authenticate('email-code', request)
	const sessionCookie = await createUserSession(user.id, request)
	await audit('login.succeeded', { userId: user.id, request })
	const headers = new Headers()
	headers.append('Set-Cookie', sessionCookie)
	headers.append('Set-Cookie', await loginCookie().serialize('', { maxAge: 0 }))
	return { user, headers }
}
