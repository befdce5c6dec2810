import { z } from 'zod'
import { ApiError } from './errors.server.ts'

/**
 * Cursor pagination (decision 013). A cursor is opaque to clients: base64url of the sort key of
 * the last item served (keyset pagination, so pages stay right while rows are added). Clients
 * pass `next_cursor` back unchanged; anything else is a 400.
 */
export const MAX_PAGE_SIZE = 100
export const DEFAULT_PAGE_SIZE = 20

/** The `limit` and `cursor` query parameters every list accepts. */
export const pageQuery = {
	limit: z.coerce
		.number()
		.int()
		.min(1)
		.max(MAX_PAGE_SIZE)
		.default(DEFAULT_PAGE_SIZE)
		.meta({ description: `Nombre d’éléments par page (1 à ${MAX_PAGE_SIZE}, ${DEFAULT_PAGE_SIZE} par défaut).` }),
	cursor: z
		.string()
		.max(200)
		.optional()
		.meta({ description: 'La valeur `next_cursor` de la page précédente, telle quelle. Absent : première page.' }),
}

/** A (timestamp, id) position in a list ordered by creation. */
export type TimeCursor = { at: Date; id: string }

const timeCursor = z.tuple([z.iso.datetime(), z.uuid()])

export function encodeTimeCursor(row: { createdAt: Date; id: string }) {
	return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url')
}

/** The position a cursor names, or a 400 `invalid_cursor`. */
export function decodeTimeCursor(cursor: string | undefined): TimeCursor | undefined {
	if (cursor === undefined) return undefined
	const parsed = timeCursor.safeParse(parseJson(cursor))
	if (!parsed.success) throw invalidCursor()
	return { at: new Date(parsed.data[0]), id: parsed.data[1] }
}

/** Prisma `where` for the rows after `cursor` in (createdAt, id) order, `desc` or `asc`. */
export function afterTimeCursor(cursor: TimeCursor | undefined, direction: 'asc' | 'desc') {
	if (!cursor) return {}
	const op = direction === 'desc' ? 'lt' : 'gt'
	return { OR: [{ createdAt: { [op]: cursor.at } }, { createdAt: cursor.at, id: { [op]: cursor.id } }] }
}

/** A page from `take + 1` rows: the extra row only says there is a next page. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => string) {
	const data = rows.slice(0, limit)
	return { data, nextCursor: rows.length > limit ? cursorOf(data[data.length - 1]!) : null }
}

/** A ledger position (its `seq`). */
export function encodeSeqCursor(seq: bigint) {
	return Buffer.from(JSON.stringify(['seq', seq.toString()])).toString('base64url')
}

export function decodeSeqCursor(cursor: string | undefined): bigint | undefined {
	if (cursor === undefined) return undefined
	const parsed = z.tuple([z.literal('seq'), z.string().regex(/^\d{1,19}$/)]).safeParse(parseJson(cursor))
	if (!parsed.success) throw invalidCursor()
	return BigInt(parsed.data[1])
}

function parseJson(cursor: string): unknown {
	try {
		return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
	} catch {
		return undefined
	}
}

const invalidCursor = () => new ApiError('invalid_cursor', 'api.error.invalidCursor')
