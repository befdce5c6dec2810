import { describe, expect, test } from 'vitest'
import { loader as dashboardLoader } from '#app/routes/_index.tsx'
import { loader as localeLoaderRoot } from '#app/root.tsx'
import { action as localeAction } from '#app/routes/resources+/locale.tsx'
import { privileged } from '#app/utils/db.server.ts'
import { call, CookieJar, makeRequest } from '#tests/utils/http.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { loader as photoLoader } from '#app/routes/projects+/$projectId_.photos.$photoId.tsx'
import { loader as projectLoader } from '#app/routes/projects+/$projectId.tsx'
import { readyPhoto } from '#tests/utils/photos.ts'
import { action, loader } from './index.tsx'

const ctx = { nonce: 'n', csrfToken: 't' }

describe('account: sessions and language', () => {
	test('lists my active sessions, marks this device, and shows nobody else’s', async () => {
		const me = await loggedInUser({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1' })
		await loggedInUser({ email: me.email, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36' })
		await loggedInUser()
		const page = await call(() => loader({ request: makeRequest('/settings', { jar: me.jar }), params: {}, context: ctx }))
		const data = page.data as { email: string; sessions: { current: boolean; device: string | null }[] }
		expect(data.email).toBe(me.email)
		expect(data.sessions).toHaveLength(2)
		expect(data.sessions.filter((s) => s.current)).toHaveLength(1)
		expect(data.sessions.map((s) => s.device).sort()).toEqual(['Chrome · Linux', 'Safari · iOS'])
	})

	test('"log out other devices" keeps this one; "log out everywhere" ends them all', async () => {
		const me = await loggedInUser()
		const other = await loggedInUser({ email: me.email })
		const stranger = await loggedInUser()

		const others = await call(() =>
			action({ request: makeRequest('/settings', { jar: me.jar, form: { intent: 'logout-others' } }), params: {}, context: ctx }),
		)
		expect(others.status).toBe(302)
		expect((await call(() => dashboardLoader({ request: makeRequest('/', { jar: me.jar }), params: {}, context: ctx }))).status).toBe(200)
		expect(
			(
				await call(() => dashboardLoader({ request: makeRequest('/', { jar: other.jar }), params: {}, context: ctx }))
			).response?.headers.get('Location'),
		).toBe('/login')

		const second = await loggedInUser({ email: me.email })
		const all = await call(() =>
			action({ request: makeRequest('/settings', { jar: me.jar, form: { intent: 'logout-all' } }), params: {}, context: ctx }),
		)
		expect(all.response?.headers.get('Location')).toBe('/login')
		for (const jar of [me.jar, second.jar]) {
			expect((await call(() => dashboardLoader({ request: makeRequest('/', { jar }), params: {}, context: ctx }))).status).toBe(302)
		}
		// Someone else's session is untouched.
		expect((await call(() => dashboardLoader({ request: makeRequest('/', { jar: stranger.jar }), params: {}, context: ctx }))).status).toBe(
			200,
		)
		expect(
			await privileged().auditEvent.count({ where: { userId: me.id, type: { in: ['session.revoked_all', 'session.revoked_others'] } } }),
		).toBe(2)
	})

	test('the settings page requires a login and comes back after it', async () => {
		const anonymous = await call(() => loader({ request: makeRequest('/settings'), params: {}, context: ctx }))
		expect(anonymous.response?.headers.get('Location')).toBe('/login?redirectTo=%2Fsettings')
	})

	test('language: English is stored on the account; before login, in a cookie', async () => {
		const me = await loggedInUser()
		const switched = await call(() =>
			localeAction({
				request: makeRequest('/resources/locale', { jar: me.jar, form: { locale: 'en', redirectTo: '/settings' } }),
				params: {},
				context: ctx,
			}),
		)
		expect(switched.response?.headers.get('Location')).toBe('/settings')
		expect((await privileged().user.findUniqueOrThrow({ where: { id: me.id } })).locale).toBe('en')
		const root = await call(() => localeLoaderRoot({ request: makeRequest('/', { jar: me.jar }), params: {}, context: ctx }))
		expect(root.data).toMatchObject({ locale: 'en' })

		const visitor = new CookieJar()
		const anonymous = await call(() =>
			localeAction({
				request: makeRequest('/resources/locale', { jar: visitor, form: { locale: 'en', redirectTo: 'https://evil.example' } }),
				params: {},
				context: ctx,
			}),
		)
		expect(anonymous.response?.headers.get('Location')).toBe('/')
		visitor.take(anonymous.response!)
		expect(
			(await call(() => localeLoaderRoot({ request: makeRequest('/login', { jar: visitor }), params: {}, context: ctx }))).data,
		).toMatchObject({ locale: 'en' })
		const bad = await call(() =>
			localeAction({ request: makeRequest('/resources/locale', { form: { locale: 'de' } }), params: {}, context: ctx }),
		)
		expect(bad.status).toBe(400)
	})

	test('the disclosure caption box starts from my setting on both order forms; nobody else’s changes', async () => {
		const me = await loggedInUser()
		const stranger = await loggedInUser()
		const project = await privileged().project.create({ data: { userId: me.id, name: 'T2 Nantes' }, select: { id: true } })
		const photoId = await readyPhoto(me.id, project.id)
		const forms = async () => {
			const projectPage = await call(() =>
				projectLoader({
					request: makeRequest(`/projects/${project.id}`, { jar: me.jar }),
					params: { projectId: project.id },
					context: ctx,
				}),
			)
			const photoPage = await call(() =>
				photoLoader({
					request: makeRequest(`/projects/${project.id}/photos/${photoId}`, { jar: me.jar }),
					params: { projectId: project.id, photoId },
					context: ctx,
				}),
			)
			const settings = await call(() => loader({ request: makeRequest('/settings', { jar: me.jar }), params: {}, context: ctx }))
			for (const page of [projectPage, photoPage, settings]) expect(page.status, page.response?.headers.get('Location') ?? '').toBe(200)
			return [projectPage, photoPage, settings].map((page) => (page.data as { captionDefault: boolean }).captionDefault)
		}
		expect(await forms()).toEqual([true, true, true])

		// An unticked box is absent from the form: saved as off.
		const saved = await call(() =>
			action({ request: makeRequest('/settings', { jar: me.jar, form: { intent: 'preferences' } }), params: {}, context: ctx }),
		)
		expect(saved.status).toBe(302)
		expect(await forms()).toEqual([false, false, false])
		const strangers = await call(() => loader({ request: makeRequest('/settings', { jar: stranger.jar }), params: {}, context: ctx }))
		expect((strangers.data as { captionDefault: boolean }).captionDefault).toBe(true)

		await call(() =>
			action({
				request: makeRequest('/settings', { jar: me.jar, form: { intent: 'preferences', captionDefault: 'on' } }),
				params: {},
				context: ctx,
			}),
		)
		expect(await forms()).toEqual([true, true, true])
	})
})
