import type { Prisma } from '#app/generated/prisma/client.ts'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { withUser } from '#app/utils/db.server.ts'
import { auditTypes, type AuditType } from './audit.server.ts'

/**
 * The security log a user sees (/settings/activity): their own events only (through RLS), newest
 * first, each with a translated label, a short fingerprint of the IP hash, and a few details
 * picked from a whitelist — never the raw `data` (admin ids, export ids, reasons stay internal).
 */

export const ACTIVITY_PAGE_SIZE = 25

/** The catalog key of each type's label: the type check fails if a type has no message. */
export function auditLabel(type: AuditType): `activity.type.${AuditType}` & MessageKey {
	return `activity.type.${type}`
}

const isAuditType = (type: string): type is AuditType => (auditTypes as readonly string[]).includes(type)

type Detail = { key: MessageKey; vars?: Record<string, string | number> }

function record(data: Prisma.JsonValue | null): Record<string, unknown> {
	return data && typeof data === 'object' && !Array.isArray(data) ? data : {}
}

const count = (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null)

/** The details shown for an event: known fields of known types only. */
function detailsOf(type: string, data: Prisma.JsonValue | null): Detail[] {
	const d = record(data)
	switch (type) {
		case 'login.succeeded':
			if (d.secondFactor === 'totp') return [{ key: 'activity.detail.withAuthenticator' }]
			if (d.secondFactor === 'recovery') return [{ key: 'activity.detail.withRecoveryCode' }]
			return []
		case 'login.locked':
			return d.factor === 'second' ? [{ key: 'activity.detail.secondFactor' }] : []
		case 'two_factor.recovery_used':
			return count(d.remaining) !== null ? [{ key: 'activity.detail.recoveryLeft', vars: { count: count(d.remaining)! } }] : []
		case 'session.revoked_all':
		case 'session.revoked_others':
			return count(d.count) !== null ? [{ key: 'activity.detail.sessionsClosed', vars: { count: count(d.count)! } }] : []
		case 'credits.admin_adjustment': {
			const delta = typeof d.delta === 'number' && Number.isSafeInteger(d.delta) ? d.delta : null
			const balance = count(d.balanceAfter)
			return delta !== null && balance !== null
				? [{ key: 'activity.detail.credits', vars: { delta: delta > 0 ? `+${delta}` : String(delta), balance } }]
				: []
		}
		case 'gdpr.export_ready':
			return count(d.sizeBytes) !== null
				? [{ key: 'activity.detail.exportSize', vars: { mb: Math.max(0.1, Math.round(count(d.sizeBytes)! / 104_857.6) / 10) } }]
				: []
		case 'rate_limited':
			return d.rule === 'uploads' || d.rule === 'orders' || d.rule === 'exports' || d.rule === 'webhooks'
				? [{ key: `activity.detail.rule.${d.rule}` }]
				: []
		default:
			return []
	}
}

/** A page cursor: the last event shown (time and id, for a stable order among equal times). */
function parseCursor(raw: string | null) {
	const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)_([0-9a-f-]{36})$/.exec(raw ?? '')
	if (!match) return null
	const at = new Date(match[1]!)
	return Number.isNaN(at.getTime()) ? null : { at, id: match[2]! }
}

/** One page of the user's security events, newest first; `older` is the cursor of the next page. */
export async function listActivity(userId: string, options: { before?: string | null } = {}) {
	const cursor = parseCursor(options.before ?? null)
	const rows = await withUser(userId, (tx) =>
		tx.auditEvent.findMany({
			where: {
				userId,
				...(cursor ? { OR: [{ createdAt: { lt: cursor.at } }, { createdAt: cursor.at, id: { lt: cursor.id } }] } : {}),
			},
			orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
			take: ACTIVITY_PAGE_SIZE + 1,
			select: { id: true, type: true, ipHash: true, data: true, createdAt: true },
		}),
	)
	const page = rows.slice(0, ACTIVITY_PAGE_SIZE)
	const last = page.at(-1)
	return {
		events: page.map((row) => ({
			id: row.id,
			label: isAuditType(row.type) ? auditLabel(row.type) : ('activity.unknownType' as const),
			at: row.createdAt,
			// The first characters of the keyed hash: enough to tell connections apart, useless to find the address.
			fingerprint: row.ipHash ? row.ipHash.slice(0, 6) : null,
			details: detailsOf(row.type, row.data),
		})),
		older: rows.length > ACTIVITY_PAGE_SIZE && last ? `${last.createdAt.toISOString()}_${last.id}` : null,
		paged: Boolean(cursor),
	}
}
