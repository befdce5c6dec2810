import crypto from 'node:crypto'
import { privileged } from '#app/utils/db.server.ts'

/** Creates a user through the privileged path (as the login flow does), no credits. */
export async function createTestUser(overrides: { email?: string; role?: 'agent' | 'admin' } = {}) {
	return privileged().user.create({
		data: { email: overrides.email ?? `agent-${crypto.randomBytes(4).toString('hex')}@example.fr`, role: overrides.role ?? 'agent' },
		select: { id: true, email: true },
	})
}
