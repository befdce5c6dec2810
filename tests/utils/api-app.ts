import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createRequestHandler, type ServerBuild } from '@remix-run/node'
import { flatRoutes } from 'remix-flat-routes'
import { directRoutes } from '#app/direct-routes.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { createHttpApp } from '#app/utils/http-app.server.ts'

const APP_DIR = path.resolve(import.meta.dirname, '../../app')

type RouteEntry = { id: string; parentId?: string; path?: string; index?: boolean; caseSensitive?: boolean; file: string }

/** What Remix's own `defineRoutes` builds, for remix-flat-routes (the same function vite.config.ts gives it). */
function defineRoutes(callback: (route: (...args: unknown[]) => void) => void) {
	const routes: Record<string, RouteEntry> = {}
	const parents: RouteEntry[] = []
	callback((routePath: unknown, file: unknown, optionsOrChildren?: unknown, maybeChildren?: unknown) => {
		const children =
			typeof optionsOrChildren === 'function' ? (optionsOrChildren as () => void) : (maybeChildren as (() => void) | undefined)
		const options =
			typeof optionsOrChildren === 'object' && optionsOrChildren ? (optionsOrChildren as { index?: boolean; id?: string }) : {}
		const id = options.id ?? String(file).replace(/\.[^/.]+$/, '')
		const route: RouteEntry = {
			id,
			parentId: parents.at(-1)?.id ?? 'root',
			path: (routePath as string) || undefined,
			index: options.index ? true : undefined,
			file: String(file),
		}
		routes[id] = route
		if (children) {
			parents.push(route)
			children()
			parents.pop()
		}
	})
	return routes
}

/** The app's route manifest, computed by remix-flat-routes exactly as vite.config.ts does. */
export function routeManifest() {
	return flatRoutes('routes', defineRoutes as never, {
		appDir: APP_DIR,
		ignoredRouteFiles: ['**/*.test.{ts,tsx}', '**/*.server.{ts,tsx}', '**/*.css'],
	}) as unknown as Record<string, RouteEntry>
}

/** Resource routes served by the test app: the API, and what the Replicate fake and downloads need. */
const SERVED = [/^routes\/api\+\//, /^routes\/webhooks\+\/replicate$/, /^routes\/resources\+\/files\.\$$/]

/**
 * The real HTTP stack on 127.0.0.1 for API tests: server.ts's HTTP layer (createHttpApp: security
 * headers, the CSRF exemption of /api/, body limits) in front of Remix's own request handler,
 * with the route manifest remix-flat-routes computes from app/routes. Only resource routes are
 * loaded (the API, the Replicate webhook, signed local files): pages need the Vite build. Sets
 * APP_URL to its own address (signed URLs and webhooks point here).
 */
export async function startApiApp() {
	const manifest = routeManifest()
	const routes: ServerBuild['routes'] = { root: { id: 'root', path: '', module: {} as never } }
	for (const route of Object.values(manifest)) {
		const served = SERVED.some((pattern) => pattern.test(route.id))
		routes[route.id] = {
			id: route.id,
			parentId: route.parentId,
			path: route.path,
			index: route.index,
			caseSensitive: route.caseSensitive,
			module: served ? ((await import(path.join(APP_DIR, route.file))) as never) : ({} as never),
		}
	}
	const build = {
		mode: 'production',
		entry: { module: { default: (_request: Request, status: number, headers: Headers) => new Response(null, { status, headers }) } },
		routes,
		assets: { entry: { module: '', imports: [] }, routes: {}, url: '', version: 'test' },
		publicPath: '/',
		assetsBuildDirectory: '',
		future: {
			v3_fetcherPersist: true,
			v3_relativeSplatPath: true,
			v3_throwAbortReason: true,
			v3_singleFetch: true,
			v3_lazyRouteDiscovery: true,
		},
		isSpaMode: false,
	} as unknown as ServerBuild
	const app = createHttpApp({
		env: { NODE_ENV: 'test' as never, APP_URL: 'http://127.0.0.1', TRUST_PROXY: false },
		handleRemix: createRequestHandler(build, 'production'),
		// As server.ts: the upload and the Replicate webhook are served without Remix (decision 014).
		directRoutes: () => directRoutes,
	})
	const server = http.createServer(app)
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
	process.env.APP_URL = url
	reloadEnv()
	return {
		url,
		manifest,
		close: () =>
			new Promise<void>((resolve) => {
				server.close(() => resolve())
				server.closeAllConnections()
			}),
	}
}
