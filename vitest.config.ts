import path from 'node:path'
import { defineConfig } from 'vitest/config'

/** The `#app/*`, `#worker/*`, `#tests/*` imports of package.json, for Vite (shared with e2e). */
export const aliases = [
	{ find: /^#app\/(.*)$/, replacement: path.resolve(import.meta.dirname, 'app/$1') },
	{ find: /^#worker\/(.*)$/, replacement: path.resolve(import.meta.dirname, 'worker/$1') },
	{ find: /^#tests\/(.*)$/, replacement: path.resolve(import.meta.dirname, 'tests/$1') },
]

// Separate from vite.config.ts: the Remix plugin is not wanted under test.
export default defineConfig({
	resolve: { alias: aliases },
	test: {
		include: ['app/**/*.test.{ts,tsx}', 'worker/**/*.test.ts', 'tests/**/*.test.ts'],
		exclude: ['tests/e2e/**', 'node_modules/**'],
		pool: 'forks',
		globalSetup: ['tests/setup/global-setup.ts'],
		setupFiles: ['tests/setup/setup-test-env.ts'],
		testTimeout: 30_000,
		hookTimeout: 60_000,
		env: { NODE_ENV: 'test', LOG_LEVEL: 'silent', RUN_WORKER: 'false' },
	},
})
