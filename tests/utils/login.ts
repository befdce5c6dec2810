import crypto from 'node:crypto'
import { findOrCreateUser } from '#app/modules/auth/login.server.ts'
import { createUserSession } from '#app/modules/auth/session.server.ts'
import { CookieJar, makeRequest } from './http.ts'

/** A new user logged in through the real account and session code (no email round trip). */
export async function loggedInUser(options: { email?: string; userAgent?: string } = {}) {
	const email = options.email ?? `agent.${crypto.randomBytes(4).toString('hex')}@agence-exemple.fr`
	const request = makeRequest('/login/verify')
	if (options.userAgent) request.headers.set('user-agent', options.userAgent)
	const user = await findOrCreateUser(email, 'fr', request)
	const jar = new CookieJar()
	jar.take(new Response(null, { headers: { 'Set-Cookie': await createUserSession(user.id, request) } }))
	return { id: user.id, email, jar }
}
