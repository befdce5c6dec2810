/** Set by the HTTP layer on every request, overwriting any incoming copy: one id per HTTP request. */
export const REQUEST_ID_HEADER = 'x-renzo-request-id'

const MEMO_TTL_MS = 60_000
const memos = new Map<string, Map<symbol, unknown>>()
const perRequestObject = new WeakMap<Request, Map<symbol, unknown>>()

/**
 * A memo shared by every loader of one HTTP request: Remix hands each loader its own copy of
 * the Request, so a WeakMap on the object alone would never hit. Falls back to the object when
 * the request did not come through the HTTP layer (unit tests).
 */
export function requestMemo(request: Request): Map<symbol, unknown> {
	const id = request.headers.get(REQUEST_ID_HEADER)
	if (!id) {
		let memo = perRequestObject.get(request)
		if (!memo) perRequestObject.set(request, (memo = new Map()))
		return memo
	}
	let memo = memos.get(id)
	if (!memo) {
		memos.set(id, (memo = new Map()))
		setTimeout(() => memos.delete(id), MEMO_TTL_MS).unref()
	}
	return memo
}
