import fs from 'node:fs'
import path from 'node:path'
import { resolveConfig } from 'vite'

const ROOT = path.resolve(import.meta.dirname, '../..')

/** One URL pattern the app serves, as Remix itself resolved it from app/routes. */
export type AppRoute = {
	id: string
	/** The full path pattern, e.g. `/projects/:projectId/photos/:photoId` or `/resources/files/*`. */
	pattern: string
	/** Route parameters in the pattern (`*` for a splat). */
	params: string[]
	/** Query parameters its module reads (`searchParams.get('x')` and the like). */
	query: string[]
	/** Form intents its module handles (`intent === 'x'`, `name="intent" value="x"`). */
	intents: string[]
	file: string
	hasLoader: boolean
	hasAction: boolean
}

type ManifestRoute = { id: string; parentId?: string; path?: string; index?: boolean; file: string }

/**
 * Every route of the app, read the way Remix reads it: vite.config.ts is resolved and the Remix
 * plugin's route manifest (remix-flat-routes over app/routes, with the same ignore rules) is
 * taken from it. A route file added tomorrow is in this list without anyone editing the tests.
 * Layout-only routes (no loader, no action) are skipped: they answer nothing by themselves.
 */
export async function appRoutes(): Promise<AppRoute[]> {
	const config = await resolveConfig({ configFile: path.join(ROOT, 'vite.config.ts'), logLevel: 'silent' }, 'build', 'production')
	const context = (
		config as unknown as { __remixPluginContext?: { remixConfig: { appDirectory: string; routes: Record<string, ManifestRoute> } } }
	).__remixPluginContext
	if (!context) throw new Error('vite.config.ts has no Remix plugin context: has the Remix config moved?')
	// The Remix plugin started a child Vite server to read route exports: close it.
	for (const plugin of config.plugins)
		if (plugin.name === 'remix' && typeof plugin.buildEnd === 'function') await (plugin.buildEnd as () => Promise<void>)()
	const { routes, appDirectory } = context.remixConfig
	const patternOf = (route: ManifestRoute): string => {
		const parent = route.parentId ? routes[route.parentId] : undefined
		const own = route.path ?? ''
		const base = parent ? patternOf(parent) : ''
		return `${base.replace(/\/$/, '')}/${own.replace(/^\/|\/$/g, '')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1')
	}
	return Object.values(routes)
		.filter((route) => route.id !== 'root')
		.map((route) => {
			const file = path.join(appDirectory, route.file)
			const source = fs.readFileSync(file, 'utf8')
			const pattern = patternOf(route)
			return {
				id: route.id,
				pattern,
				params: [...pattern.matchAll(/:([A-Za-z0-9_]+)|(\*)/g)].map((m) => m[1] ?? '*'),
				query: unique([...source.matchAll(/searchParams\.(?:get|getAll|has)\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!)),
				intents: unique([
					...[...source.matchAll(/intent\s*[!=]==\s*'([a-z0-9-]+)'/g)].map((m) => m[1]!),
					...[...source.matchAll(/name="intent"\s+value="([a-z0-9-]+)"/g)].map((m) => m[1]!),
					...[...source.matchAll(/intent="([a-z0-9-]+)"/g)].map((m) => m[1]!),
				]),
				file: path.relative(ROOT, file),
				hasLoader: /export (async )?function loader\b|export const loader\b/.test(source),
				hasAction: /export (async )?function action\b|export const action\b/.test(source),
			}
		})
		.sort((a, b) => a.pattern.localeCompare(b.pattern))
}

function unique(values: string[]) {
	return [...new Set(values)]
}
