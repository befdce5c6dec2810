import { vitePlugin as remix } from '@remix-run/dev'
import { flatRoutes } from 'remix-flat-routes'
import { defineConfig } from 'vite'

export default defineConfig({
	build: { target: 'es2022', cssMinify: true },
	server: { watch: { ignored: ['**/.data/**', '**/test-results/**'] } },
	plugins: [
		remix({
			ignoredRouteFiles: ['**/*'],
			serverModuleFormat: 'esm',
			future: {
				v3_fetcherPersist: true,
				v3_relativeSplatPath: true,
				v3_throwAbortReason: true,
				v3_lazyRouteDiscovery: true,
				v3_singleFetch: true,
			},
			routes: async (defineRoutes) =>
				flatRoutes('routes', defineRoutes, {
					ignoredRouteFiles: ['**/*.test.{ts,tsx}', '**/*.server.{ts,tsx}', '**/*.css'],
				}),
		}),
	],
})

declare module '@remix-run/node' {
	// Single fetch: loaders/actions return plain data, typed as such in components.
	interface Future {
		v3_singleFetch: true
	}
}
