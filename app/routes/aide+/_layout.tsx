import type { LinksFunction } from '@remix-run/node'
import { Outlet } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import helpStyles from '#app/styles/help.css?url'

// The « Aide » pages: public (no login), their own small stylesheet for long reading.
export const links: LinksFunction = () => [{ rel: 'stylesheet', href: helpStyles }]

export default function HelpLayout() {
	return (
		<div className="help">
			<Outlet />
		</div>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
