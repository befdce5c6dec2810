/**
 * A curl-like client of the public API for tests: plain fetch over HTTP with a Bearer key,
 * nothing of the app imported. Each call answers status, headers and the parsed JSON body.
 */
export type ApiAnswer<T = Record<string, unknown>> = { status: number; headers: Headers; body: T }
export type ApiError = { error: { code: string; message: string; details?: { field: string; message: string }[] } }

export function apiClient(baseUrl: string, key: string | null) {
	const auth: Record<string, string> = key ? { Authorization: `Bearer ${key}` } : {}
	async function send<T>(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}) {
		const response = await fetch(new URL(path, baseUrl), { method, headers: { ...auth, ...init.headers }, body: init.body })
		const text = await response.text()
		return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as T }
	}
	return {
		get: <T = Record<string, unknown>>(path: string, headers: Record<string, string> = {}) => send<T>('GET', path, { headers }),
		post: <T = Record<string, unknown>>(path: string, body?: unknown, headers: Record<string, string> = {}) =>
			send<T>('POST', path, {
				body: body === undefined ? undefined : JSON.stringify(body),
				headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
			}),
		/** multipart/form-data, one `photo` part per file (fetch draws a new boundary each time, as curl -F does). */
		upload: <T = Record<string, unknown>>(
			path: string,
			files: { name: string; data: Uint8Array; type?: string }[],
			headers: Record<string, string> = {},
		) => {
			const form = new FormData()
			for (const file of files) form.append('photo', new Blob([file.data as BlobPart], { type: file.type ?? 'image/jpeg' }), file.name)
			return send<T>('POST', path, { body: form, headers })
		},
		raw: send,
	}
}
