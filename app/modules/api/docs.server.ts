import { getEnv } from '#app/utils/env.server.ts'
import { errorDescriptions, errorStatuses, type ErrorCode } from './errors.server.ts'
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_TTL_MS } from './idempotency.server.ts'
import { openApiDocument, tags } from './openapi.server.ts'
import { JSON_BODY_LIMIT_BYTES, RATE_LIMIT_WINDOW_SECONDS } from './operation.server.ts'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.server.ts'

/**
 * What the reference page (/api-docs) shows, read from the OpenAPI document itself, so the page
 * can never say something the document (and the validation behind it) does not.
 */

type Schema = {
	type?: string | string[]
	$ref?: string
	enum?: unknown[]
	const?: unknown
	format?: string
	items?: Schema
	anyOf?: Schema[]
	oneOf?: Schema[]
	properties?: Record<string, Schema>
	required?: string[]
	description?: string
	default?: unknown
	minimum?: number
	maximum?: number
	minLength?: number
	maxLength?: number
	minItems?: number
	maxItems?: number
}

const refName = (ref: string) => ref.split('/').pop()!

/** A short type label: `string (uuid)`, `integer ≤ 100`, `Project[]`, `"active" | "archived"`, `… | null`. */
export function typeLabel(schema: Schema | undefined): string {
	if (!schema) return 'any'
	if (schema.$ref) return refName(schema.$ref)
	if (schema.anyOf || schema.oneOf) return (schema.anyOf ?? schema.oneOf)!.map(typeLabel).join(' | ')
	if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ')
	if (schema.const !== undefined) return JSON.stringify(schema.const)
	const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []
	return (types.length ? types : ['object'])
		.map((type) => {
			if (type === 'array') return `${typeLabel(schema.items)}[]`
			const bounds = [
				schema.format ? schema.format : null,
				schema.minimum !== undefined && schema.minimum > -(2 ** 53) ? `≥ ${schema.minimum}` : null,
				schema.maximum !== undefined && schema.maximum < 2 ** 53 ? `≤ ${schema.maximum}` : null,
				schema.minLength ? `${schema.minLength}+ car.` : null,
				schema.maxLength ? `≤ ${schema.maxLength} car.` : null,
			].filter(Boolean)
			return type === 'null' || !bounds.length ? type : `${type} (${bounds.join(', ')})`
		})
		.join(' | ')
}

type OperationObject = {
	operationId: string
	summary: string
	description?: string
	tags: string[]
	security?: unknown[]
	parameters?: ({ name: string; in: string; required: boolean; description?: string; schema: Schema } | { $ref: string })[]
	requestBody?: { required: boolean; content: Record<string, { schema: Schema }> }
	responses: Record<string, { description: string; 'x-error-codes'?: ErrorCode[]; content?: Record<string, { schema: Schema }> }>
}

export function apiReference() {
	const document = openApiDocument() as unknown as {
		info: { title: string; version: string }
		paths: Record<string, Record<string, OperationObject>>
		components: { schemas: Record<string, Schema> }
	}
	const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
		Object.entries(methods).map(([method, op]) => ({
			id: op.operationId,
			method: method.toUpperCase(),
			path,
			tag: op.tags[0]!,
			summary: op.summary,
			description: op.description ?? null,
			public: Array.isArray(op.security) && op.security.length === 0,
			parameters: (op.parameters ?? []).map((p) =>
				'$ref' in p
					? { name: IDEMPOTENCY_HEADER, in: 'header', required: false, type: 'string', description: 'Voir « Idempotence ».' }
					: { name: p.name, in: p.in, required: p.required, type: typeLabel(p.schema), description: p.description ?? null },
			),
			body: op.requestBody
				? Object.entries(op.requestBody.content).map(([contentType, { schema }]) => ({
						contentType,
						type: typeLabel(schema),
						fields: schema.properties ? Object.keys(schema.properties) : [],
					}))[0]!
				: null,
			responses: Object.entries(op.responses).map(([status, response]) => ({
				status,
				description: response.description,
				type: response.content ? typeLabel(Object.values(response.content)[0]!.schema) : null,
				codes: response['x-error-codes'] ?? [],
			})),
		})),
	)
	const schemas = Object.entries(document.components.schemas).map(([id, schema]) => ({
		id,
		description: schema.description ?? null,
		properties: Object.entries(schema.properties ?? {}).map(([name, property]) => ({
			name,
			type: typeLabel(property),
			required: schema.required?.includes(name) ?? false,
			description: property.description ?? null,
			default: property.default === undefined ? null : JSON.stringify(property.default),
		})),
	}))
	const env = getEnv()
	return {
		title: document.info.title,
		version: document.info.version,
		baseUrl: new URL('/api/v1', env.APP_URL).toString(),
		tags: tags.map((tag) => ({ ...tag, operations: operations.filter((op) => op.tag === tag.name) })),
		schemas,
		errors: (Object.keys(errorStatuses) as ErrorCode[]).map((code) => ({
			code,
			status: errorStatuses[code],
			description: errorDescriptions[code],
		})),
		limits: {
			ratePerMinute: env.API_RATE_LIMIT_PER_MINUTE,
			windowSeconds: RATE_LIMIT_WINDOW_SECONDS,
			jsonKb: JSON_BODY_LIMIT_BYTES / 1024,
			pageDefault: DEFAULT_PAGE_SIZE,
			pageMax: MAX_PAGE_SIZE,
			idempotencyHours: IDEMPOTENCY_TTL_MS / 3_600_000,
			uploadMb: Math.round(env.UPLOAD_MAX_BYTES / 1024 / 1024),
		},
	}
}
