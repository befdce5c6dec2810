import { defineConfig } from 'vitest/config'
import { aliases } from './vitest.config.ts'

// Browser tests (tests/e2e): Chromium against the production build, started with a throwaway
// Postgres and a real SMTP server by tests/e2e/global-setup.ts. `npm run test:e2e`.
export default defineConfig({
	resolve: { alias: aliases },
	test: {
		include: ['tests/e2e/**/*.e2e.ts'],
		pool: 'forks',
		globalSetup: ['tests/e2e/global-setup.ts'],
		// One app, one browser: files run one after another (tests in a file already do).
		fileParallelism: false,
		testTimeout: 120_000,
		hookTimeout: 180_000,
		teardownTimeout: 60_000,
		reporters: ['default'],
		env: { NODE_ENV: 'test' },
	},
})
