import { enforceRateLimit, rateLimitedData, RateLimitError } from '#app/modules/security/rate-limit.server.ts'
import { redirectWithToast } from '#app/utils/toast.server.ts'
import { orderSchema } from './catalog.ts'
import { OrderError, orderTransformations } from './order.server.ts'
import { cancelTransformation } from './run.server.ts'

/** The order form's fields (`photoId` repeated; `style` is a style key or `custom:<id>`). */
export function parseOrderForm(form: FormData) {
	const style = String(form.get('style') ?? '')
	const custom = style.startsWith('custom:') ? style.slice('custom:'.length) : undefined
	const optional = (name: string) => {
		const value = form.get(name)
		return typeof value === 'string' && value !== '' ? value : undefined
	}
	return orderSchema.safeParse({
		photoIds: form.getAll('photoId').map(String),
		kind: optional('kind'),
		quality: optional('quality'),
		roomType: optional('roomType'),
		style: custom ? undefined : style || undefined,
		customStyleId: custom,
		disclosureLabel: form.get('disclosureLabel') === 'on',
		notifyByEmail: form.get('notifyByEmail') === 'on',
	})
}

/**
 * The `order` intent of the project and photo pages: orders, then back to `back` with a message.
 * Over ORDERS_PER_USER_PER_HOUR: 429 shown on the page (nothing reserved); the routes export `keepRetryAfter`.
 */
export async function orderFromForm(userId: string, projectId: string, form: FormData, back: string, request?: Request) {
	const parsed = parseOrderForm(form)
	if (!parsed.success) {
		const noPhoto = parsed.error.issues.some((issue) => issue.path[0] === 'photoIds')
		return redirectWithToast(back, { key: noPhoto ? 'transformations.error.noPhoto' : 'transformations.error.invalid', type: 'error' })
	}
	try {
		await enforceRateLimit('orders', userId, { userId, request })
	} catch (error) {
		if (error instanceof RateLimitError) return rateLimitedData(error)
		throw error
	}
	try {
		const result = await orderTransformations(userId, projectId, parsed.data)
		return redirectWithToast(back, {
			key: 'transformations.ordered',
			type: 'success',
			vars: { count: result.ids.length, credits: result.credits },
		})
	} catch (error) {
		if (!(error instanceof OrderError)) throw error
		if (error.code === 'not_found') throw new Response('Not found', { status: 404 })
		return redirectWithToast(back, { key: `transformations.refused.${error.code}`, type: 'error', vars: error.vars })
	}
}

/** The `cancel` intent: cancels the user's transformation if it is still queued or running. */
export async function cancelFromForm(userId: string, form: FormData, back: string) {
	const id = String(form.get('transformationId') ?? '')
	const cancelled = /^[0-9a-f-]{36}$/i.test(id) && (await cancelTransformation(userId, id))
	return redirectWithToast(
		back,
		cancelled ? { key: 'transformations.cancelled', type: 'success' } : { key: 'transformations.error.notCancellable', type: 'error' },
	)
}
