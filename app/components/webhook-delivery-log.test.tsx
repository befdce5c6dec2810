import { type ReactNode } from 'react'
import { renderToString } from 'react-dom/server'
import { createStaticHandler, createStaticRouter, StaticRouterProvider } from 'react-router-dom/server'
import { describe, expect, test } from 'vitest'
import { WebhookDeliveryLog, type DeliveryRow } from './webhook-delivery-log.tsx'

/** Server-renders `element` the way Remix does: under a data router whose 'root' route holds the locale and CSRF token. */
async function render(element: ReactNode, locale: 'fr' | 'en' = 'fr') {
	const routes = [{ id: 'root', path: '/', loader: () => ({ locale, csrfToken: 'jeton' }), element }]
	const handler = createStaticHandler(routes)
	const context = await handler.query(new Request('http://localhost/'))
	if (context instanceof Response) throw new Error('unexpected redirect')
	return renderToString(<StaticRouterProvider router={createStaticRouter(handler.dataRoutes, context)} context={context} hydrate={false} />)
}

const at = '2026-11-25T17:02:00.000Z'
const deliveries: DeliveryRow[] = [
	{
		id: '7c1f1b8e-0000-4000-8000-000000000001',
		status: 'failed',
		attempts: 3,
		createdAt: at,
		event: { id: 'e0e0e0e0-0000-4000-8000-000000000001', type: 'transformation.succeeded' },
		attemptLog: [
			{ number: 3, trigger: 'manual', statusCode: 301, durationMs: 40, error: null, createdAt: at },
			{ number: 2, trigger: 'auto', statusCode: null, durationMs: 10_000, error: 'timeout', createdAt: at },
			{ number: 1, trigger: 'auto', statusCode: 500, durationMs: 85, error: null, createdAt: at },
		],
	},
	{
		id: '7c1f1b8e-0000-4000-8000-000000000002',
		status: 'pending',
		attempts: 0,
		createdAt: at,
		event: { id: 'e0e0e0e0-0000-4000-8000-000000000002', type: 'credits.low' },
		attemptLog: [],
	},
]

describe('WebhookDeliveryLog', () => {
	test('each delivery: date, event, state, its attempts in French, and a labelled « Renvoyer » form with its CSRF token', async () => {
		const html = await render(<WebhookDeliveryLog deliveries={deliveries} />)
		expect(html).toContain('Échec')
		expect(html).toContain('En cours')
		expect(html).toContain('Tentative 3 — 25 nov. 2026, 18:02 — HTTP 301 (redirection non suivie) — 40 ms')
		expect(html).toContain('Tentative 2 — 25 nov. 2026, 18:02 — pas de réponse en 10 s — 10000 ms')
		expect(html).toContain('Tentative 1 — 25 nov. 2026, 18:02 — HTTP 500 — 85 ms')
		expect(html).toContain('(manuelle)')
		expect(html.match(/aria-label="Renvoyer la notification e0e0e0e0-[^"]+"/g)).toHaveLength(2)
		expect(html.match(/name="deliveryId" value="7c1f1b8e-[^"]+"/g)).toHaveLength(2)
		expect(html.match(/name="csrf" value="jeton"/g)).toHaveLength(2)
		expect(html).toContain('data-label="Événement"')
	})

	test('empty log, and English', async () => {
		expect(await render(<WebhookDeliveryLog deliveries={[]} />)).toContain('Aucune notification envoyée pour l’instant.')
		const html = await render(<WebhookDeliveryLog deliveries={deliveries} />, 'en')
		expect(html).toContain('Attempt 2 — 25 Nov 2026, 18:02 — no answer within 10 s — 10000 ms')
		expect(html).toContain('Resend')
	})
})
