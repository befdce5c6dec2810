import { defineConfig } from 'prisma/config'

// `env('DATABASE_URL')` throws when unset, which breaks `prisma generate` in CI:
// generation never connects, so a placeholder is enough there.
export default defineConfig({
	schema: 'prisma/schema.prisma',
	migrations: { path: 'prisma/migrations' },
	datasource: {
		url: process.env.DATABASE_URL ?? 'postgresql://unset@localhost/unset',
	},
})
