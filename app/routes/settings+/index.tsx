import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { redirect } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { destroySession, getSessionId, listSessions, requireUser, revokeSessions } from '#app/modules/auth/session.server.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { disclosureDefault, setDisclosureDefault } from '#app/modules/transformations/preferences.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { formatDateTime } from '#app/utils/format.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'

export const meta: MetaFunction = () => [{ title: 'Compte — Renzo' }]

/** A short, human description of a user agent ("Chrome · Android"), no version details. */
function describeDevice(userAgent: string | null) {
	if (!userAgent) return null
	const browser = /Edg\//.test(userAgent)
		? 'Edge'
		: /Firefox\//.test(userAgent)
			? 'Firefox'
			: /Chrome\//.test(userAgent)
				? 'Chrome'
				: /Safari\//.test(userAgent)
					? 'Safari'
					: null
	const os = /iPhone|iPad/.test(userAgent)
		? 'iOS'
		: /Android/.test(userAgent)
			? 'Android'
			: /Mac OS X/.test(userAgent)
				? 'macOS'
				: /Windows/.test(userAgent)
					? 'Windows'
					: /Linux/.test(userAgent)
						? 'Linux'
						: null
	return [browser, os].filter(Boolean).join(' · ') || null
}

export async function loader({ request }: LoaderFunctionArgs) {
	const user = await requireUser(request)
	const current = await getSessionId(request)
	const sessions = await listSessions(user.id)
	return {
		email: user.email,
		twoFactor: user.twoFactorEnabled,
		captionDefault: await withUser(user.id, (tx) => disclosureDefault(tx, user.id)),
		sessions: sessions.map((s) => ({
			id: s.id.slice(0, 12),
			current: s.id === current,
			device: describeDevice(s.userAgent),
			createdAt: s.createdAt,
			lastSeenAt: s.lastSeenAt,
		})),
	}
}

export async function action({ request }: ActionFunctionArgs) {
	const user = await requireUser(request)
	const form = await request.formData()
	const intent = form.get('intent')
	if (intent === 'preferences') {
		await setDisclosureDefault(user.id, form.get('captionDefault') === 'on')
		return redirectWithToast('/settings', { key: 'preferences.saved', type: 'success' })
	}
	if (intent === 'logout-others') {
		await revokeSessions(user.id, { keep: await getSessionId(request), request })
		return redirectWithToast('/settings', { key: 'account.othersLoggedOut', type: 'success' })
	}
	if (intent === 'logout-all') {
		await revokeSessions(user.id, { request })
		return redirect('/login', { headers: { 'Set-Cookie': await destroySession(request) } })
	}
	throw new Response('Unknown intent', { status: 400 })
}

export default function SettingsPage() {
	const { email, twoFactor, captionDefault, sessions } = useLoaderData<typeof loader>()
	const t = useT()
	const locale = useLocale()
	return (
		<>
			<h1>{t('account.title')}</h1>
			<section className="card">
				<p>
					<strong>{t('account.email')} :</strong> {email}
				</p>
				<p className="muted">{t('account.languageHint')}</p>
			</section>
			<section className="card" aria-labelledby="two-factor-title">
				<h2 id="two-factor-title">{t('twoFactor.title')}</h2>
				<p className="muted">{t('twoFactor.intro')}</p>
				{twoFactor ? (
					<p>
						<strong>{t('twoFactor.statusOnShort')}</strong> <Link to="/settings/two-factor">{t('twoFactor.manage')}</Link>
					</p>
				) : (
					<Form method="post" action="/settings/two-factor">
						<CsrfInput />
						<button type="submit" name="intent" value="start">
							{t('twoFactor.start')}
						</button>
					</Form>
				)}
			</section>
			<section className="card" aria-labelledby="preferences-title">
				<h2 id="preferences-title">{t('preferences.title')}</h2>
				<Form method="post">
					<CsrfInput />
					<div className="choice">
						<input type="checkbox" id="caption-default" name="captionDefault" defaultChecked={captionDefault} />
						<label htmlFor="caption-default">
							{t('preferences.caption')}
							<span className="field-hint">{t('preferences.captionHint')}</span>
						</label>
					</div>
					<button type="submit" name="intent" value="preferences" className="secondary">
						{t('preferences.save')}
					</button>
				</Form>
			</section>
			<section className="card" aria-labelledby="more-title">
				<h2 id="more-title">{t('account.more')}</h2>
				<ul className="list">
					<li>
						<Link to="/settings/export">{t('gdpr.settingsLink')}</Link>
					</li>
					<li>
						<Link to="/settings/activity">{t('activity.settingsLink')}</Link>
					</li>
					<li>
						<Link to="/settings/api-keys">{t('apiKeys.settingsLink')}</Link>
					</li>
					<li>
						<Link to="/settings/webhooks">{t('webhooks.settingsLink')}</Link>
					</li>
				</ul>
			</section>
			<section className="card" aria-labelledby="sessions-title">
				<h2 id="sessions-title">{t('account.sessions')}</h2>
				<p className="muted">{t('account.sessionsIntro')}</p>
				<ul className="list">
					{sessions.map((s) => (
						<li key={s.id}>
							<strong>{s.device ?? t('account.session.unknownDevice')}</strong>
							{s.current ? ` — ${t('account.session.current')}` : null}
							<br />
							<span className="muted">
								{t('account.session.since', { date: formatDateTime(s.createdAt, locale) })} ·{' '}
								{t('account.session.lastSeen', { date: formatDateTime(s.lastSeenAt, locale) })}
							</span>
						</li>
					))}
				</ul>
				<div className="actions">
					<Form method="post">
						<CsrfInput />
						<button type="submit" name="intent" value="logout-others" className="secondary">
							{t('account.logoutOthers')}
						</button>
					</Form>
					<Form method="post">
						<CsrfInput />
						<button type="submit" name="intent" value="logout-all" className="danger">
							{t('account.logoutEverywhere')}
						</button>
					</Form>
				</div>
			</section>
			<section className="card danger-zone" aria-labelledby="danger-title">
				<h2 id="danger-title">{t('accountDeletion.dangerZone')}</h2>
				<p className="muted">{t('accountDeletion.dangerIntro')}</p>
				<Link to="/settings/delete-account" className="button danger">
					{t('accountDeletion.settingsLink')}
				</Link>
			</section>
		</>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
