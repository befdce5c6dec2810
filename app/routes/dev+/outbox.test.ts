import { afterEach, describe, expect, test, vi } from 'vitest'
import { call, makeRequest } from '#tests/utils/http.ts'

afterEach(() => {
	vi.unstubAllEnvs()
	vi.resetModules()
})

async function outboxStatus() {
	const { loader } = await import('./outbox.tsx')
	return (await call(() => loader({ request: makeRequest('/dev/outbox'), params: {}, context: { nonce: '', csrfToken: '' } }))).status
}

describe('dev outbox page', () => {
	test('exists in development without SMTP', async () => {
		expect(await outboxStatus()).toBe(200)
	})

	test('is a 404 in production, and whenever real SMTP is configured', async () => {
		vi.stubEnv('NODE_ENV', 'production')
		vi.stubEnv('SESSION_SECRET', 'x'.repeat(40))
		vi.stubEnv('APP_URL', 'https://renzo.example')
		vi.stubEnv('SMTP_URL', 'smtp://127.0.0.1:2525')
		vi.resetModules()
		expect(await outboxStatus()).toBe(404)
		vi.stubEnv('NODE_ENV', 'test')
		vi.resetModules()
		expect(await outboxStatus()).toBe(404)
	})
})
