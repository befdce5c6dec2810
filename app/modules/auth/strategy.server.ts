import { Authenticator } from 'remix-auth'
import { Strategy } from 'remix-auth/strategy'
import { readPendingLogin, verifyCode, verifyLink, LoginError } from './login.server.ts'

/** What a successful email verification tells the verify callback. */
export type EmailVerified = { email: string; request: Request }

/**
 * A remix-auth strategy for our email login: a GET with `?token=` is the magic link, a POST
 * with `code` is the 6-digit code typed in the browser that asked. Failures throw LoginError.
 */
export class EmailCodeStrategy<User> extends Strategy<User, EmailVerified> {
	name = 'email-code'

	async authenticate(request: Request): Promise<User> {
		const pending = await readPendingLogin(request)
		const url = new URL(request.url)
		if (request.method === 'GET') {
			const token = url.searchParams.get('token')
			if (!token) throw new LoginError({ reason: 'expired' })
			const email = await verifyLink({ token, nonce: pending?.nonce ?? null, request })
			return this.verify({ email, request })
		}
		if (!pending) throw new LoginError({ reason: 'expired' })
		const form = await request.formData()
		const code = String(form.get('code') ?? '').replace(/\s+/g, '')
		const email = await verifyCode({ verificationId: pending.verificationId, code, request })
		return this.verify({ email, request })
	}
}

export type AuthenticatedUser = { id: string; created: boolean }

/** The app's authenticator; the verify callback is given by the caller module. */
export function createAuthenticator(verify: (params: EmailVerified) => Promise<AuthenticatedUser>) {
	const authenticator = new Authenticator<AuthenticatedUser>()
	authenticator.use(new EmailCodeStrategy<AuthenticatedUser>(verify))
	return authenticator
}
