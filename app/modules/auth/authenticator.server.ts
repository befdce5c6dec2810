import { audit } from '#app/modules/audit/audit.server.ts'
import { resolveLocale } from '#app/modules/i18n/locale.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { findOrCreateUser, LoginError, loginCookie } from './login.server.ts'
import { createUserSession } from './session.server.ts'
import { createAuthenticator } from './strategy.server.ts'
import { beginSecondFactor } from './two-factor-login.server.ts'
import { mustEnrolTwoFactor } from './two-factor.server.ts'

export const authenticator = createAuthenticator(async ({ email, request }) =>
	findOrCreateUser(email, await resolveLocale(request), request),
)

/**
 * Authenticates the request (link or code). Opens a session, or, for an account with
 * two-factor on, only the pending second-factor step (`secondFactor: true`). Returns the
 * Set-Cookie headers (pending email login cleared) and whether the account must first set up
 * two-factor (`mustEnrol`). Throws LoginError on failure, and for an account being deleted.
 */
export async function completeLogin(request: Request) {
	const user = await authenticator.authenticate('email-code', request)
	const headers = new Headers()
	headers.append('Set-Cookie', await loginCookie().serialize('', { maxAge: 0 }))
	// Privileged: nobody is logged in yet.
	const account = await privileged().user.findUniqueOrThrow({
		where: { id: user.id },
		select: { role: true, totpEnabledAt: true, deletionRequestedAt: true },
	})
	if (account.deletionRequestedAt) throw new LoginError({ reason: 'deletion_pending' })
	if (account.totpEnabledAt) {
		headers.append('Set-Cookie', await beginSecondFactor(user.id, request))
		return { user, headers, secondFactor: true, mustEnrol: false }
	}
	headers.append('Set-Cookie', await createUserSession(user.id, request))
	await audit('login.succeeded', { userId: user.id, request })
	return { user, headers, secondFactor: false, mustEnrol: mustEnrolTwoFactor({ role: account.role, twoFactorEnabled: false }) }
}
