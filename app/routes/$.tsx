import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'

// Any unknown URL: a French 404 page inside the layout.
export async function loader() {
	throw new Response('Not found', { status: 404 })
}

export default function NotFound() {
	return <GeneralErrorBoundary />
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
