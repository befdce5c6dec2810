import { describe, expect, test } from 'vitest'
import { auditLabel } from '#app/modules/audit/activity.server.ts'
import { audit, auditTypes } from '#app/modules/audit/audit.server.ts'
import { catalogs } from '#app/modules/i18n/catalog.ts'
import { privileged, withUser } from '#app/utils/db.server.ts'
import { call, makeRequest, type CookieJar } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { loader } from './activity.tsx'

const ctx = { nonce: '', csrfToken: '' }

type Page = {
	events: { id: string; label: string; at: Date; fingerprint: string | null; details: { key: string; vars?: Record<string, unknown> }[] }[]
	older: string | null
	paged: boolean
}

const activity = async (jar: CookieJar, before?: string) =>
	(
		await call(() =>
			loader({
				request: makeRequest(`/settings/activity${before ? `?${new URLSearchParams({ before })}` : ''}`, { jar }),
				params: {},
				context: ctx,
			}),
		)
	).data as Page

describe('security log (settings/activity)', () => {
	test('every audit type has a French and an English label', () => {
		for (const type of auditTypes) {
			const key = auditLabel(type)
			expect(catalogs.fr[key], type).toMatch(/\S/)
			expect(catalogs.en[key], type).toMatch(/\S/)
		}
	})

	test('a user sees only their own events, newest first; B never sees A’s, not even through the database', async () => {
		const a = await loggedInUser()
		const b = await loggedInUser()
		// A second after the login's events (account.created and session.created, maybe in the same millisecond).
		const later = new Date(Date.now() + 1000)
		await privileged().auditEvent.create({ data: { userId: a.id, type: 'two_factor.enabled', createdAt: later } })
		await privileged().auditEvent.create({ data: { userId: b.id, type: 'gdpr.export_requested', createdAt: later } })
		const pageA = await activity(a.jar)
		expect(pageA.events[0]!.label).toBe('activity.type.two_factor.enabled')
		expect(pageA.events.map((e) => e.label).sort()).toEqual([
			'activity.type.account.created',
			'activity.type.session.created',
			'activity.type.two_factor.enabled',
		])
		const pageB = await activity(b.jar)
		expect(pageB.events[0]!.label).toBe('activity.type.gdpr.export_requested')
		expect(pageB.events.map((e) => e.label).sort()).toEqual([
			'activity.type.account.created',
			'activity.type.gdpr.export_requested',
			'activity.type.session.created',
		])
		const idsOfA = new Set(pageA.events.map((e) => e.id))
		expect(pageB.events.some((e) => idsOfA.has(e.id))).toBe(false)
		// RLS: as B, with no filter of ours, A's rows do not exist.
		const seenByB = await withUser(b.id, (tx) => tx.auditEvent.findMany({ select: { userId: true } }))
		expect(seenByB.length).toBeGreaterThan(0)
		expect(seenByB.every((row) => row.userId === b.id)).toBe(true)
	})

	test('a short IP fingerprint and whitelisted details only: no raw IP, no admin or export ids', async () => {
		const me = await loggedInUser()
		const request = makeRequest('/', { ip: '203.0.113.77' })
		await audit('credits.admin_adjustment', { userId: me.id, request, data: { adminId: crypto.randomUUID(), delta: -3, balanceAfter: 2 } })
		await audit('login.succeeded', { userId: me.id, request, data: { secondFactor: 'recovery' } })
		await audit('two_factor.recovery_used', { userId: me.id, request, data: { remaining: 9 } })
		await audit('gdpr.export_ready', { userId: me.id, data: { exportId: crypto.randomUUID(), sizeBytes: 5 * 1024 * 1024 } })
		// A row written before a type was renamed: still listed, with a generic label.
		await privileged().auditEvent.create({ data: { userId: me.id, type: 'legacy.thing', data: { secret: 'nope' } } })
		const { events } = await activity(me.jar)
		const byLabel = Object.fromEntries(events.map((e) => [e.label, e]))
		expect(byLabel['activity.type.credits.admin_adjustment']!.details).toEqual([
			{ key: 'activity.detail.credits', vars: { delta: '-3', balance: 2 } },
		])
		expect(byLabel['activity.type.login.succeeded']!.details).toEqual([{ key: 'activity.detail.withRecoveryCode' }])
		expect(byLabel['activity.type.two_factor.recovery_used']!.details).toEqual([
			{ key: 'activity.detail.recoveryLeft', vars: { count: 9 } },
		])
		expect(byLabel['activity.type.gdpr.export_ready']!.details).toEqual([{ key: 'activity.detail.exportSize', vars: { mb: 5 } }])
		expect(byLabel['activity.unknownType']!.details).toEqual([])
		const fingerprint = byLabel['activity.type.login.succeeded']!.fingerprint
		expect(fingerprint).toMatch(/^[0-9a-f]{6}$/)
		expect(byLabel['activity.type.gdpr.export_ready']!.fingerprint).toBeNull()
		const sent = JSON.stringify(events)
		expect(sent).not.toContain('203.0.113.77')
		expect(sent).not.toMatch(/adminId|exportId|secret|[0-9a-f]{32}/)
	})

	test('cursor paging: 25 per page, no event twice or skipped, even among events of the same instant', async () => {
		const me = await loggedInUser()
		const at = new Date()
		await privileged().auditEvent.createMany({
			data: Array.from({ length: 40 }, (_, i) => ({
				userId: me.id,
				type: 'session.created',
				// Pairs share a timestamp: the id breaks the tie.
				createdAt: new Date(at.getTime() - Math.floor(i / 2) * 1000),
			})),
		})
		const all = await privileged().auditEvent.count({ where: { userId: me.id } })
		const first = await activity(me.jar)
		expect(first.events).toHaveLength(25)
		expect(first.paged).toBe(false)
		const second = await activity(me.jar, first.older!)
		expect(second.paged).toBe(true)
		expect(second.older).toBeNull()
		const ids = [...first.events, ...second.events].map((e) => e.id)
		expect(new Set(ids).size).toBe(all)
		const times = [...first.events, ...second.events].map((e) => new Date(e.at).getTime())
		expect(times).toEqual([...times].sort((x, y) => y - x))
		// A forged cursor is ignored (first page), never an error.
		expect((await activity(me.jar, "2026'; DROP TABLE audit_events;--")).events).toHaveLength(25)
	})

	test('empty state: no event, no pages', async () => {
		const me = await loggedInUser()
		await privileged().auditEvent.deleteMany({ where: { userId: me.id } })
		expect(await activity(me.jar)).toEqual({ events: [], older: null, paged: false })
	})
})
