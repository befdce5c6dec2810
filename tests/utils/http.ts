/** A minimal cookie jar: what a browser would send back after these responses. */
export class CookieJar {
	private cookies = new Map<string, string>()

	/** Stores the Set-Cookie headers of `response` (a Max-Age=0 cookie is removed). */
	take(response: Response) {
		for (const header of response.headers.getSetCookie()) {
			const [pair, ...attributes] = header.split(';')
			const index = pair!.indexOf('=')
			const name = pair!.slice(0, index).trim()
			const value = pair!.slice(index + 1).trim()
			const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === ''
			if (expired) this.cookies.delete(name)
			else this.cookies.set(name, value)
		}
		return response
	}

	header() {
		return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
	}

	get(name: string) {
		return this.cookies.get(name)
	}

	set(name: string, value: string) {
		this.cookies.set(name, value)
	}
}

/** A Request as server.ts hands it to Remix (client IP resolved, cookies from `jar`). */
export function makeRequest(path: string, options: { method?: string; form?: Record<string, string>; jar?: CookieJar; ip?: string } = {}) {
	const headers = new Headers({ 'x-renzo-client-ip': options.ip ?? '127.0.0.1', 'user-agent': 'vitest' })
	if (options.jar) headers.set('Cookie', options.jar.header())
	const init: RequestInit = { method: options.method ?? (options.form ? 'POST' : 'GET'), headers }
	if (options.form) {
		headers.set('Content-Type', 'application/x-www-form-urlencoded')
		init.body = new URLSearchParams(options.form).toString()
	}
	return new Request(new URL(path, 'http://localhost:3000'), init)
}

/** Runs a loader/action the way Remix does: a thrown Response is the response. */
export async function call(fn: () => Promise<unknown>): Promise<{ response?: Response; data?: unknown; status: number }> {
	try {
		const result = await fn()
		if (result instanceof Response) return { response: result, status: result.status }
		// Single fetch: `data(value, init)` carries its own status.
		const wrapped = result as { type?: string; data?: unknown; init?: { status?: number; headers?: HeadersInit } }
		if (wrapped && wrapped.type === 'DataWithResponseInit')
			return { data: wrapped.data, status: wrapped.init?.status ?? 200, response: new Response(null, { headers: wrapped.init?.headers }) }
		return { data: result, status: 200 }
	} catch (thrown) {
		if (thrown instanceof Response) return { response: thrown, status: thrown.status }
		throw thrown
	}
}
