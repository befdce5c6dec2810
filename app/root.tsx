import { data, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import {
	Form,
	Links,
	Meta,
	NavLink,
	Outlet,
	Scripts,
	ScrollRestoration,
	useLoaderData,
	useLocation,
	useRouteLoaderData,
} from '@remix-run/react'
import { useEffect, useState, type ReactNode } from 'react'
import { CsrfInput } from './components/csrf-input.tsx'
import { GeneralErrorBoundary } from './components/error-boundary.tsx'
import { LanguageForm } from './components/language-form.tsx'
import { useNonce } from './components/nonce.tsx'
import { getSessionUser } from './modules/auth/session.server.ts'
import { translate, type Locale } from './modules/i18n/catalog.ts'
import { resolveLocale } from './modules/i18n/locale.server.ts'
import { useT } from './modules/i18n/use-t.ts'
import { readToast } from './utils/toast.server.ts'
import appStyles from './styles/app.css?url'
import beforeAfterStyles from './styles/before-after.css?url'

export const links: LinksFunction = () => [
	{ rel: 'stylesheet', href: appStyles },
	{ rel: 'stylesheet', href: beforeAfterStyles },
	{ rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
]

export const meta: MetaFunction = () => [{ title: 'Renzo' }, { name: 'description', content: translate('fr', 'app.tagline') }]

export async function loader({ request, context }: LoaderFunctionArgs) {
	const user = await getSessionUser(request)
	const locale = await resolveLocale(request, user?.locale)
	const { toast, clear } = await readToast(request)
	return data(
		{
			user: user ? { email: user.email, creditBalance: user.creditBalance, role: user.role } : null,
			locale,
			csrfToken: context.csrfToken,
			toast,
		},
		clear ? { headers: { 'Set-Cookie': clear } } : undefined,
	)
}

function Document({ children, locale }: { children: ReactNode; locale: Locale }) {
	const nonce = useNonce()
	return (
		<html lang={locale}>
			<head>
				<meta charSet="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<meta name="theme-color" content="#1f4e79" />
				<Meta />
				<Links />
			</head>
			<body>
				{children}
				<ScrollRestoration nonce={nonce} />
				<Scripts nonce={nonce} />
			</body>
		</html>
	)
}

function Header() {
	const t = useT()
	const data = useRouteLoaderData<typeof loader>('root')
	const user = data?.user
	return (
		<header className="site-header">
			<a className="skip-link" href="#main">
				{t('nav.skip')}
			</a>
			<NavLink to="/" className="brand" end>
				Renzo
			</NavLink>
			<NavLink to="/aide" className="help-link">
				{t('help.nav')}
			</NavLink>
			{user ? (
				<>
					<Form method="post" action="/logout" className="inline-form logout">
						<CsrfInput />
						<button type="submit" className="link-button">
							{t('nav.logout')}
						</button>
					</Form>
					<nav aria-label={t('nav.main')} className="main-nav">
						<NavLink to="/projects">{t('nav.projects')}</NavLink>
						<NavLink to="/styles">{t('styles.nav')}</NavLink>
						<NavLink to="/credits">
							{t('nav.credits')}{' '}
							<span className="badge" aria-hidden="true">
								{user.creditBalance}
							</span>
							<span className="visually-hidden">({t('nav.balance', { count: user.creditBalance })})</span>
						</NavLink>
						<NavLink to="/settings">{t('nav.account')}</NavLink>
					</nav>
				</>
			) : null}
		</header>
	)
}

/**
 * The one-shot message of the last redirect. It stays for the page it was shown on: a live
 * revalidation (status events) re-runs the root loader, whose cookie is already cleared, and
 * must not wipe it before it is read; the next navigation does.
 */
function Toast() {
	const data = useRouteLoaderData<typeof loader>('root')
	const location = useLocation()
	const t = useT()
	const [kept, setKept] = useState<{ toast: NonNullable<typeof data>['toast']; key: string } | null>(null)
	useEffect(() => {
		if (data?.toast) setKept({ toast: data.toast, key: location.key })
		else setKept((current) => (current && current.key === location.key ? current : null))
	}, [data?.toast, location.key])
	const toast = data?.toast ?? (kept?.key === location.key ? kept.toast : null)
	if (!toast) return null
	return (
		<p className={`toast toast-${toast.type}`} role="status">
			{t(toast.key, toast.vars)}
		</p>
	)
}

export default function App() {
	const { locale } = useLoaderData<typeof loader>()
	return (
		<Document locale={locale}>
			<Header />
			<main id="main" tabIndex={-1}>
				<Toast />
				<Outlet />
			</main>
			<footer className="site-footer">
				<LanguageForm />
			</footer>
		</Document>
	)
}

export function ErrorBoundary() {
	const data = useRouteLoaderData<typeof loader>('root')
	return (
		<Document locale={data?.locale ?? 'fr'}>
			<Header />
			<main id="main" tabIndex={-1}>
				<GeneralErrorBoundary />
			</main>
		</Document>
	)
}
