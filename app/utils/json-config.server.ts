import type { z } from 'zod'

/**
 * Parses a JSON-valued setting (TRANSFORMATIONS_CONFIG, BILLING_OFFER) against its schema, or
 * throws `fail(message)` with a message that names the variable and each bad field.
 */
export function parseJsonSetting<S extends z.ZodType>(
	name: string,
	json: string,
	schema: S,
	fail: (message: string) => Error,
): z.output<S> {
	let parsed: unknown
	try {
		parsed = JSON.parse(json)
	} catch {
		throw fail(`${name} is not valid JSON`)
	}
	const result = schema.safeParse(parsed)
	if (!result.success) throw fail(`${name}: ${result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`)
	return result.data
}
