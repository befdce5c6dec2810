import crypto from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { startReplicateFake, type ReplicateFake } from '#tests/fakes/replicate.ts'
import { startStripeFake, type StripeFake } from '#tests/fakes/stripe.ts'
import { startServerProcess, tail } from '#tests/utils/app-process.ts'
import { WebClient } from '#tests/utils/web-client.ts'
import { snapshotOf, userWithEverything, type Owner } from './fixtures.ts'
import { appRoutes, type AppRoute } from './route-tree.ts'

// Every route of the app, listed from the route tree (tests/security/route-tree.ts), is called by
// user B — and by an anonymous visitor — on user A's ids, through the real server (server.ts):
// never a 2xx carrying A's data, never a 5xx, and afterwards not one of A's rows has changed.
// A route whose URL parameter the tables below do not know fails the test: a new route cannot
// be forgotten. README.md in this folder lists the other attacks and where they are tested.

/** A's id for each route parameter name. */
const PARAMS: Record<string, (owner: Owner) => string> = {
	projectId: (o) => o.projectId,
	photoId: (o) => o.photoId,
	transformationId: (o) => o.transformationId,
	exportId: (o) => o.exportId,
	endpointId: (o) => o.endpointId,
}

/** A splat means something different on each route: keyed by route id. */
const SPLATS: Record<string, (owner: Owner) => string> = {
	// The catch-all 404 page.
	'routes/$': (o) => `projects/${o.projectId}/inconnu`,
	// Files of the local storage driver: A's original, without (or with B's) signature.
	'routes/resources+/files.$': (o) => o.originalKey,
	// The API's JSON 404 for unknown paths.
	'routes/api+/$': (o) => `v1/projects/${o.projectId}/inconnu`,
}

/** A's value for each query parameter a route reads; parameters that carry no id say why they are left out. */
const QUERY: Record<string, ((owner: Owner) => string) | { notAnId: string }> = {
	style: (o) => o.styleId,
	t: (o) => o.transformationId,
	rerun: (o) => o.transformationId,
	session: (o) => o.checkoutSessionId,
	// Pagination cursors: A's ledger row as a cursor must not page into A's history.
	before: (o) => o.ledgerId,
	after: (o) => o.ledgerId,
	// The admin search: B is no admin, and must not find A.
	email: (o) => o.email,
	archived: { notAnId: 'a flag (archived projects or not)' },
	annule: { notAnId: 'a flag (checkout cancelled)' },
	redirectTo: { notAnId: 'a same-site path: the open-redirect attacks are in attacks.test.ts' },
	token: { notAnId: 'the magic-link token: replay and tampering are in app/routes/_auth+/login.test.ts' },
}

/** Form fields posted with every mutation: A's ids under every name a form uses for one, and plausible values. */
function formFields(o: Owner, intent: string | undefined): Record<string, string> {
	return {
		...(intent ? { intent } : {}),
		confirm: 'yes',
		projectId: o.projectId,
		photoId: o.photoId,
		transformationId: o.transformationId,
		styleId: o.styleId,
		customStyleId: o.styleId,
		style: `custom:${o.styleId}`,
		exportId: o.exportId,
		keyId: o.apiKeyId,
		endpointId: o.endpointId,
		sessionId: o.sessionId,
		userId: o.id,
		kind: 'virtual_staging',
		quality: 'standard',
		name: 'Intrusion',
		address: '1 rue Intrusion',
		reference: 'INTRUS',
		prompt: 'intrusion',
		url: 'https://hooks.example/intrusion',
		events: 'transformation.succeeded',
		code: '000000',
		delta: '100',
		note: 'intrusion',
		key: 'intrusion',
	}
}

/**
 * B's own photo and project, with A's ids for everything else: B's valid order with A's custom
 * style, B's project with A's transformation to cancel, A's key to revoke…
 */
function mixedFields(a: Owner, b: Owner, intent: string | undefined): Record<string, string> {
	return { ...formFields(a, intent), projectId: b.projectId, photoId: b.photoId, quality: 'standard', kind: 'enhancement' }
}

/** The same, as the JSON body of an API call. */
function apiBody(o: Owner) {
	return {
		name: 'Intrusion',
		photoIds: [o.photoId],
		photoId: o.photoId,
		projectId: o.projectId,
		customStyleId: o.styleId,
		kind: 'declutter',
	}
}

// These end B's own session (or its other ones): posted last, once everything else is done.
const SESSION_ENDING_INTENTS = new Set(['logout-all', 'logout-others'])
const SESSION_ENDING_ROUTES = new Set(['routes/_auth+/logout'])

let routes: AppRoute[]
let stripe: StripeFake
let replicate: ReplicateFake
let server: Awaited<ReturnType<typeof startServerProcess>>
let a: Owner
let b: Owner
let before: Record<string, string[]>
const findings: string[] = []
/** How many requests each route received over the whole file: none left out. */
const exercised = new Map<string, number>()

beforeAll(async () => {
	routes = await appRoutes()
	// Payments and AI configured (against their fakes on 127.0.0.1): every route is live, none
	// answers "not configured", and nothing can reach the real Stripe or Replicate.
	stripe = await startStripeFake()
	replicate = await startReplicateFake()
	server = await startServerProcess({
		env: {
			...stripe.env,
			REPLICATE_API_TOKEN: replicate.token,
			REPLICATE_BASE_URL: replicate.baseUrl,
			REPLICATE_WEBHOOK_SECRET: replicate.webhookSecret,
		},
	})
	a = await userWithEverything('Alice')
	b = await userWithEverything('Bruno')
	before = await snapshotOf(a.id)
}, 180_000)

afterAll(async () => {
	await server?.stop()
	await stripe?.close()
	await replicate?.close()
})

beforeEach(() => {
	findings.length = 0
})

type Call = { method: string; url: string; body?: Record<string, string> | object; api: boolean }
type Answer = { status: number; location: string | null; text: string; hops: string[] }

function isApi(route: AppRoute) {
	return route.pattern.startsWith('/api/')
}

/** The URL of `route` with `owner`'s ids, or the reason it cannot be built. */
function urlFor(route: AppRoute, owner: Owner): { url: string } | { unknown: string } {
	let url = route.pattern
	for (const name of route.params) {
		const value = name === '*' ? SPLATS[route.id]?.(owner) : PARAMS[name]?.(owner)
		if (value === undefined) {
			return {
				unknown:
					name === '*'
						? `${route.file} (${route.pattern}) has a splat that tests/security/routes.test.ts does not know: add "${route.id}" to SPLATS with what A's value is there.`
						: `${route.file} (${route.pattern}) has the parameter ":${name}" that tests/security/routes.test.ts does not know: add "${name}" to PARAMS with A's id of that kind (and give A one in fixtures.ts if A has none).`,
			}
		}
		url = name === '*' ? url.replace('*', value) : url.replace(`:${name}`, encodeURIComponent(value))
	}
	return { url }
}

/** The query strings worth trying on `route`: each id-carrying parameter it reads, set to A's value. */
function queriesFor(route: AppRoute, owner: Owner): { queries: string[] } | { unknown: string } {
	const queries: string[] = []
	for (const name of route.query) {
		const entry = QUERY[name]
		if (!entry)
			return {
				unknown: `${route.file} reads the query parameter "${name}" that tests/security/routes.test.ts does not know: add it to QUERY (A's value, or { notAnId: why }).`,
			}
		if (typeof entry === 'function') queries.push(`${name}=${encodeURIComponent(entry(owner))}`)
	}
	return { queries }
}

async function send(client: WebClient, call: Call, apiKey: string | null): Promise<Answer> {
	const headers: Record<string, string> = {}
	if (call.api && apiKey) headers.Authorization = `Bearer ${apiKey}`
	let response: Response
	if (call.method === 'GET') response = await client.get(call.url, { headers })
	else if (call.api)
		response = await client.request(call.url, {
			method: call.method,
			headers: { ...headers, 'Content-Type': 'application/json' },
			body: JSON.stringify(call.body ?? {}),
		})
	else response = await client.post(call.url, call.body as Record<string, string>, { headers })
	const hops: string[] = []
	// Follow same-site redirects (GET, like a browser) to see where B really lands.
	while (response.status >= 300 && response.status < 400 && hops.length < 3) {
		const location = response.headers.get('location') ?? ''
		const target = new URL(location, server.url)
		if (target.origin !== server.url || target.pathname.startsWith('/login')) break
		hops.push(`${response.status} → ${target.pathname}${target.search}`)
		await response.body?.cancel()
		response = await client.get(`${target.pathname}${target.search}`, { headers })
	}
	const type = response.headers.get('content-type') ?? ''
	// An event stream never ends by itself: its status and headers are the answer.
	const text = type.startsWith('text/event-stream') ? (await response.body?.cancel(), '') : await response.text()
	return { status: response.status, location: response.headers.get('location'), text, hops }
}

/** What of `owner` must never reach anyone else: texts and ids, except those the request itself carries. */
function secretsOf(owner: Owner, call: Call) {
	const sent = `${call.url} ${JSON.stringify(call.body ?? {})}`
	const values = [
		owner.email,
		owner.marker,
		owner.id,
		owner.apiKey,
		owner.projectId,
		owner.photoId,
		owner.transformationId,
		owner.styleId,
		owner.exportId,
		owner.endpointId,
		owner.apiKeyId,
		owner.ledgerId,
		owner.checkoutSessionId,
		owner.sessionId,
	]
	return values.filter((value) => !sent.includes(value))
}

function check(label: string, call: Call, answer: Answer, allowed: (answer: Answer) => boolean, owner: Owner) {
	// A layout and its index route share a URL: both are credited.
	for (const route of routes) if (matches(route, call.url)) exercised.set(route.id, (exercised.get(route.id) ?? 0) + 1)
	const what = `${label}: ${call.method} ${call.url}${call.body && call.method !== 'GET' ? ` ${JSON.stringify((call.body as { intent?: string }).intent ?? '')}` : ''}`
	const hops = answer.hops.length ? ` (${answer.hops.join(', ')})` : ''
	if (answer.status >= 500) findings.push(`${what} → ${answer.status}${hops} (a server error)`)
	else if (!allowed(answer)) findings.push(`${what} → ${answer.status}${hops}${answer.location ? ` Location ${answer.location}` : ''}`)
	const leaked = secretsOf(owner, call).filter((secret) => answer.text.includes(secret) || answer.location?.includes(secret))
	if (leaked.length) findings.push(`${what} → ${answer.status}${hops} shows A's data: ${leaked.join(', ')}`)
}

/** Whether `url` is one of `route`'s URLs (its pattern with anything in place of each parameter). */
function matches(route: AppRoute, url: string) {
	const pathname = new URL(url, 'http://x').pathname
	const pattern = route.pattern
		.split('/')
		.map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
		.join('/')
	return new RegExp(`^${pattern}$`).test(pathname)
}

/** `url` with every id of `owner` replaced by a random one (an id that exists nowhere). */
function withRandomIds(url: string, owner: Owner) {
	let result = url
	for (const id of [owner.projectId, owner.photoId, owner.transformationId, owner.exportId, owner.endpointId, owner.styleId])
		result = result.replaceAll(id, crypto.randomUUID())
	return result
}

const refusal = (answer: Answer) => [403, 404, 405].includes(answer.status)
const toLogin = (answer: Answer) =>
	answer.status >= 300 && answer.status < 400 && new URL(answer.location ?? '', 'http://x').pathname.startsWith('/login')

describe('attack suite: every route, as B and as nobody, on A’s ids', () => {
	test('the route tree is read, and every parameter of every route is known to this test', () => {
		expect(routes.length).toBeGreaterThan(20)
		// Proof that the list is the real one: routes everyone knows are in it.
		expect(routes.map((r) => r.pattern)).toEqual(expect.arrayContaining(['/projects/:projectId', '/login', '/resources/files/*']))
		const unknown = routes.flatMap((route) => {
			const url = urlFor(route, a)
			const query = queriesFor(route, a)
			return [...('unknown' in url ? [url.unknown] : []), ...('unknown' in query ? [query.unknown] : [])]
		})
		expect(unknown).toEqual([])
	})

	test(
		'B on A’s ids: refused (403/404/405, or exactly what an id that exists nowhere gets) on every route and method, never A’s data',
		{ timeout: 300_000 },
		async () => {
			const browser = new WebClient(server.url, b.jar)
			for (const route of routes) {
				const built = urlFor(route, a)
				const query = queriesFor(route, a)
				if ('unknown' in built || 'unknown' in query || SESSION_ENDING_ROUTES.has(route.id)) continue
				const api = isApi(route)
				const key = api ? b.apiKey : null
				const withIds = route.params.length > 0
				const urls = withIds ? [built.url, ...query.queries.map((q) => `${built.url}?${q}`)] : query.queries.map((q) => `${built.url}?${q}`)
				// A's ids in the URL: a refusal, whatever the method and intent.
				const methods = api ? ['GET', 'POST', 'PATCH', 'DELETE'] : ['GET', 'POST']
				for (const url of urls) {
					for (const method of methods) {
						const intents = method === 'GET' || api ? [undefined] : route.intents.length ? route.intents : [undefined]
						for (const intent of intents) {
							if (intent && SESSION_ENDING_INTENTS.has(intent)) continue
							const call: Call = { method, url, api, body: method === 'GET' ? undefined : api ? apiBody(a) : formFields(a, intent) }
							const answer = await send(browser, call, key)
							// Where A's id is in the path: a refusal, or (a 4xx that does not depend on the id, e.g. an API body
							// rejected before any lookup) exactly what an id that exists nowhere gets. A query id may be
							// ignored (the page is then B's own).
							let allowed = (x: Answer) => !withIds || refusal(x)
							if (withIds && !refusal(answer) && answer.status >= 400 && answer.status < 500) {
								const nowhere = await send(browser, { ...call, url: withRandomIds(call.url, a) }, key)
								if (nowhere.status === answer.status) allowed = () => true
							}
							check('B', call, answer, allowed, a)
						}
					}
				}
			}
			expect(findings).toEqual([])
		},
	)

	test(
		'B in B’s own pages and forms, with A’s ids in every field: nothing of A shown, nothing of A changed',
		{ timeout: 300_000 },
		async () => {
			const browser = new WebClient(server.url, b.jar)
			const endings: Call[] = []
			for (const route of routes) {
				const built = urlFor(route, b)
				if ('unknown' in built) continue
				const api = isApi(route)
				const call = (method: string, intent?: string, mixed = false): Call => ({
					method,
					url: built.url,
					api,
					body: method === 'GET' ? undefined : api ? apiBody(a) : mixed ? mixedFields(a, b, intent) : formFields(a, intent),
				})
				if (SESSION_ENDING_ROUTES.has(route.id)) {
					endings.push(call('POST'))
					continue
				}
				// Lists and pages of B: none of A's data.
				check('B (own)', call('GET'), await send(browser, call('GET'), api ? b.apiKey : null), () => true, a)
				const methods = api ? ['POST', 'PATCH', 'DELETE'] : ['POST']
				for (const method of methods) {
					const intents = api ? [undefined] : route.intents.length ? route.intents : [undefined]
					for (const intent of intents) {
						if (intent && SESSION_ENDING_INTENTS.has(intent)) {
							endings.push(call(method, intent))
							continue
						}
						for (const mixed of api ? [false] : [false, true]) {
							const answer = await send(browser, call(method, intent, mixed), api ? b.apiKey : null)
							check('B (own)', call(method, intent, mixed), answer, () => true, a)
						}
					}
				}
			}
			for (const ending of endings) check('B (own, last)', ending, await send(browser, ending, null), () => true, a)
			expect(findings).toEqual([])
			// Nothing of A's ended up in B's rows either (an order of B's photo in A's custom style would copy A's prompt).
			const ofB = await snapshotOf(b.id)
			const borrowed = Object.entries(ofB).flatMap(([table, rows]) =>
				rows.flatMap((row) =>
					secretsOf(a, { method: 'GET', url: '', api: false })
						.filter((secret) => row.includes(secret))
						.map((secret) => `${table}: ${secret}`),
				),
			)
			expect(borrowed).toEqual([])
		},
	)

	test('nobody (no session, no key) on A’s ids: sent to the login page or refused, never A’s data', { timeout: 300_000 }, async () => {
		const visitor = new WebClient(server.url)
		for (const route of routes) {
			const built = urlFor(route, a)
			const query = queriesFor(route, a)
			if ('unknown' in built || 'unknown' in query) continue
			const api = isApi(route)
			const urls = [built.url, ...query.queries.map((q) => `${built.url}?${q}`)]
			for (const url of urls) {
				for (const method of api ? ['GET', 'POST', 'PATCH', 'DELETE'] : ['GET', 'POST']) {
					const call: Call = { method, url, api, body: method === 'GET' ? undefined : api ? apiBody(a) : formFields(a, route.intents[0]) }
					const answer = await send(visitor, call, null)
					const allowed = route.params.length > 0 ? (x: Answer) => refusal(x) || toLogin(x) || (api && x.status === 401) : () => true
					check('nobody', call, answer, allowed, a)
				}
			}
		}
		expect(findings).toEqual([])
	})

	test('after all of it, not one of A’s rows has changed, and every route was called', async () => {
		expect(await snapshotOf(a.id)).toEqual(before)
		expect(routes.filter((route) => !exercised.get(route.id)).map((route) => `${route.file} (${route.pattern})`)).toEqual([])
		expect(server.child.exitCode, tail(server.lines)).toBeNull()
	})
})
