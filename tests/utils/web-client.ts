import { CookieJar } from './http.ts'

/** Every request of these tests has a time bound: a hang fails the test instead of stalling it. */
const REQUEST_TIMEOUT_MS = 30_000

/**
 * A cookie-keeping HTTP client for a real server on 127.0.0.1, like one browser: it keeps its
 * cookies (session, CSRF), never follows redirects by itself, and sends its CSRF token with
 * every form it posts.
 */
export class WebClient {
	constructor(
		readonly base: string,
		readonly jar = new CookieJar(),
	) {
		if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(base)) throw new Error(`tests only talk to 127.0.0.1, not ${base}`)
	}

	async request(path: string, init: RequestInit = {}): Promise<Response> {
		const headers = new Headers(init.headers)
		const cookies = this.jar.header()
		if (cookies) headers.set('Cookie', cookies)
		if (!headers.has('user-agent')) headers.set('user-agent', 'renzo-tests')
		const response = await fetch(new URL(path, this.base), {
			...init,
			headers,
			redirect: 'manual',
			signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
		})
		return this.jar.take(response)
	}

	get(path: string, init: RequestInit = {}) {
		return this.request(path, { ...init, method: init.method ?? 'GET' })
	}

	/** This browser's CSRF token (the double-submit cookie), fetched with a first page if needed. */
	async csrf(): Promise<string> {
		if (!this.jar.get('__csrf')) await (await this.get('/login')).arrayBuffer()
		const token = this.jar.get('__csrf')
		if (!token) throw new Error('the server set no __csrf cookie')
		return token
	}

	/** A form post with this browser's CSRF token (unless `csrf` says otherwise: null sends none). */
	async post(
		path: string,
		fields: Record<string, string | string[]> = {},
		options: { csrf?: string | null; headers?: HeadersInit; signal?: AbortSignal } = {},
	) {
		const body = new URLSearchParams()
		const token = options.csrf === undefined ? await this.csrf() : options.csrf
		if (token !== null) body.append('csrf', token)
		for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v)
		return this.request(path, {
			method: 'POST',
			body,
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...Object.fromEntries(new Headers(options.headers)) },
			...(options.signal ? { signal: options.signal } : {}),
		})
	}
}
