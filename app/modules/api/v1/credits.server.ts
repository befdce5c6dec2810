import { getBalance, listMovements } from '#app/modules/credits/ledger.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { defineOperation } from '../operation.server.ts'
import { decodeSeqCursor, encodeSeqCursor, toPage } from '../pagination.server.ts'
import { Balance, LedgerPage, PageQuery } from '../schemas.server.ts'

export const getCredits = defineOperation({
	id: 'getCredits',
	method: 'GET',
	path: '/api/v1/credits',
	tag: 'Crédits',
	summary: 'Lire le solde de crédits',
	description: 'Les crédits disponibles (les crédits réservés par des transformations en cours n’en font plus partie).',
	success: { status: 200, description: 'Le solde.', schema: Balance },
	errors: [],
	handler: async ({ user }) => ({ balance: await withUser(user.id, (tx) => getBalance(tx, user.id)) }),
})

export const listLedger = defineOperation({
	id: 'listLedger',
	method: 'GET',
	path: '/api/v1/credits/ledger',
	tag: 'Crédits',
	summary: 'Lister les mouvements de crédits',
	description: 'Achats, abonnements, réservations, consommations et remboursements, du plus récent au plus ancien.',
	query: PageQuery,
	success: { status: 200, description: 'Une page de mouvements.', schema: LedgerPage },
	errors: ['invalid_request', 'invalid_cursor'],
	handler: async ({ user, query }) => {
		const before = decodeSeqCursor(query.cursor)
		const rows = await withUser(user.id, (tx) => listMovements(tx, user.id, { take: query.limit + 1, before }))
		const page = toPage(rows, query.limit, (row) => encodeSeqCursor(row.seq))
		return {
			data: page.data.map((row) => ({
				id: row.id,
				delta: row.delta,
				reason: row.reason,
				reference: row.reference,
				balance_after: row.balanceAfter,
				note: row.note,
				created_at: row.createdAt.toISOString(),
			})),
			next_cursor: page.nextCursor,
		}
	},
})
