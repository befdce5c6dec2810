import type { Prisma } from '#app/generated/prisma/client.ts'
import { privileged, type Tx } from '#app/utils/db.server.ts'
import { hashIp } from '#app/utils/crypto.server.ts'

/** Every security event type; the activity page has a label for each (app/modules/audit/activity.server.ts). */
export const auditTypes = [
	'login.email_requested',
	'login.succeeded',
	'login.code_failed',
	'login.locked',
	'login.rate_limited',
	'session.created',
	'session.revoked_all',
	'session.revoked_others',
	'account.created',
	'gdpr.export_requested',
	'gdpr.export_ready',
	'gdpr.export_downloaded',
	'account.deletion_requested',
	'account.deletion_confirmed',
	'account.deletion_code_failed',
	'account.deleted',
	'two_factor.enabled',
	'two_factor.disabled',
	'two_factor.recovery_regenerated',
	'two_factor.recovery_used',
	'two_factor.code_failed',
	'credits.admin_adjustment',
	'webhook.signature_failed',
	'rate_limited',
	'api_key.created',
	'api_key.revoked',
	'webhook_endpoint.created',
	'webhook_endpoint.deleted',
	'webhook_endpoint.disabled',
] as const
export type AuditType = (typeof auditTypes)[number]

/** The client address that server.ts resolved (proxy headers only when TRUST_PROXY is on). */
export function clientIp(request: Request) {
	return request.headers.get('x-renzo-client-ip') || null
}

/** Records a security event: no secrets, no raw IP, no email in `data`. */
export async function audit(
	type: AuditType,
	input: { userId?: string | null; request?: Request; data?: Prisma.InputJsonValue },
	db: Tx | ReturnType<typeof privileged> = privileged(),
) {
	await db.auditEvent.create({
		data: { type, userId: input.userId ?? null, ipHash: input.request ? hashIp(clientIp(input.request)) : null, data: input.data },
	})
}
