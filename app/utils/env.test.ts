import { describe, expect, test } from 'vitest'
import { EnvError, parseEnv } from './env.server.ts'

describe('configuration', () => {
	test('development needs nothing: every part has its embedded default', () => {
		const env = parseEnv({})
		expect(env).toMatchObject({ NODE_ENV: 'development', PORT: 3000, WELCOME_CREDITS: 5, RUN_WORKER: true, TRUST_PROXY: false })
		expect(env.DATABASE_URL).toBeUndefined()
		expect(env.SMTP_URL).toBeUndefined()
		expect(env.APP_URL).toBe('http://localhost:3000')
	})

	test('a bad value is reported with the name of the variable', () => {
		expect(() => parseEnv({ PORT: 'abc', SMTP_URL: 'not a url' })).toThrow(EnvError)
		try {
			parseEnv({ PORT: 'abc', SMTP_URL: 'not a url' })
		} catch (error) {
			expect((error as Error).message).toMatch(/PORT/)
			expect((error as Error).message).toMatch(/SMTP_URL/)
		}
	})

	test('production requires the real parts and a long secret', () => {
		expect(() => parseEnv({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL[\s\S]*SESSION_SECRET[\s\S]*APP_URL[\s\S]*SMTP_URL/)
		expect(() =>
			parseEnv({
				NODE_ENV: 'production',
				DATABASE_URL: 'postgresql://u:p@db/renzo',
				SESSION_SECRET: 'short',
				APP_URL: 'https://renzo.fr',
				SMTP_URL: 'smtp://mail',
			}),
		).toThrow(/SESSION_SECRET/)
		const env = parseEnv({
			NODE_ENV: 'production',
			DATABASE_URL: 'postgresql://u:p@db/renzo',
			SESSION_SECRET: 'x'.repeat(64),
			APP_URL: 'https://renzo.fr',
			SMTP_URL: 'smtps://user:pass@mail.example:465',
		})
		expect(env.APP_URL).toBe('https://renzo.fr')
	})
})
