// `npm run db:migrate`: applies prisma/migrations (Prisma-compatible bookkeeping, see
// docs/decisions/001-sql-migrations.md), the app role and the queue schema.
import { ensureDatabase, prepareConfiguredDatabase } from '#app/utils/database-setup.server.ts'

const log = (line: string) => console.log(`[migrate] ${line}`)
const stop = await ensureDatabase(log)
try {
	const { applied, skipped } = await prepareConfiguredDatabase(log)
	log(`${applied.length} applied, ${skipped.length} already applied`)
} finally {
	await stop()
}
