import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createRequestHandler, type ServerBuild } from '@remix-run/node'
import type { DirectRoute } from '#app/direct-routes.server.ts'
import { createHttpApp } from '#app/utils/http-app.server.ts'
import { reloadEnv, type Env } from '#app/utils/env.server.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')

/**
 * The whole app in this test process, over real HTTP on 127.0.0.1: the Remix server build that
 * Vite compiles from app/ (every route, root, entry.server) behind the HTTP layer of server.ts
 * (createHttpApp: client address, CSRF, security headers). Slower to start than calling a
 * loader (a few seconds): for what only the full stack shows — the headers Remix keeps or drops,
 * cookies, the nonce in the HTML.
 *
 * The build's modules are Vite's own copies: they read process.env when first used, so set the
 * variables before the first request, and call `reloadEnv()` here (both copies) after changing one.
 * `httpEnv` is what server.ts would pass to the HTTP layer (production mode, https APP_URL…);
 * `browser: true` also serves the client modules, for a browser to run the pages' JavaScript.
 */
export async function startRealApp(
	options: { httpEnv?: Partial<Pick<Env, 'NODE_ENV' | 'APP_URL' | 'TRUST_PROXY'>>; browser?: boolean } = {},
) {
	const { createServer } = await import('vite')
	const vite = await createServer({
		root: ROOT,
		configFile: path.join(ROOT, 'vite.config.ts'),
		server: { middlewareMode: true, hmr: false, ws: false, watch: null },
		appType: 'custom',
		logLevel: 'error',
	})
	const load = <T>(id: string) => vite.ssrLoadModule(id) as Promise<T>
	const build = await load<ServerBuild>('virtual:remix/server-build')
	const server = http.createServer(
		createHttpApp({
			env: { NODE_ENV: 'test', APP_URL: 'http://127.0.0.1', TRUST_PROXY: false, ...options.httpEnv },
			handleRemix: createRequestHandler(build, 'production'),
			// As server.ts: the endpoints the HTTP layer serves without Remix come from the build (decision 014).
			directRoutes: () => (build.entry.module as { directRoutes?: DirectRoute[] }).directRoutes,
			assets: options.browser ? vite.middlewares : undefined,
		}),
	)
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
	return {
		url,
		/** Re-reads process.env in the test's modules and in the build's. */
		async reloadEnv() {
			reloadEnv()
			;(await load<{ reloadEnv: () => void }>('/app/utils/env.server.ts')).reloadEnv()
		},
		async close() {
			await new Promise<void>((resolve) => server.close(() => resolve()))
			server.closeAllConnections()
			// The build's own queue sender and event listener (the test file's are closed by the test setup).
			await (await load<{ stopSender: () => Promise<void> }>('/app/modules/queue/boss.server.ts')).stopSender()
			await (await load<{ closeProjectEvents: () => Promise<void> }>('/app/modules/events/project-events.server.ts')).closeProjectEvents()
			await vite.close()
		},
	}
}
