import { z } from 'zod'
import { getEnv } from '#app/utils/env.server.ts'
import { errorStatuses, type ErrorCode } from './errors.server.ts'
import { IDEMPOTENCY_HEADER } from './idempotency.server.ts'
import { JSON_BODY_LIMIT_BYTES, RATE_LIMIT_WINDOW_SECONDS, type Operation, type Tag } from './operation.server.ts'
import { operations } from './operations.server.ts'
import { MAX_PAGE_SIZE } from './pagination.server.ts'
import { apiRequests, apiResponses, ErrorResponse } from './schemas.server.ts'

/**
 * The OpenAPI 3.1 document of /api/v1, generated from the operations and the SAME zod schemas
 * that validate requests (decision 013): nothing here is written twice.
 */

type JsonSchema = Record<string, unknown>
const ref = (id: string) => `#/components/schemas/${id}`

export const tags: { name: Tag; description: string }[] = [
	{ name: 'Projets', description: 'Un projet regroupe les photos d’un bien.' },
	{ name: 'Photos', description: 'Envoi en flux et lecture des photos, avec des URL signées.' },
	{ name: 'Transformations', description: 'Commandes (une photo ou un lot), suivi, annulation.' },
	{ name: 'Crédits', description: 'Solde et historique des mouvements.' },
	{ name: 'Documentation', description: 'Ce document.' },
]

/** Errors any operation with a key may answer. */
const commonErrors: ErrorCode[] = ['unauthorized', 'account_deleting', 'rate_limited', 'internal_error']

/** JSON Schema as OpenAPI wants it: no $schema/$id, no regex next to a named format (uuid, date-time). */
function clean(schema: unknown): unknown {
	if (Array.isArray(schema)) return schema.map(clean)
	if (!schema || typeof schema !== 'object') return schema
	const out: JsonSchema = {}
	for (const [key, value] of Object.entries(schema)) {
		if (key === '$schema' || key === '$id') continue
		if (key === 'pattern' && 'format' in schema) continue
		out[key] = clean(value)
	}
	return out
}

function components() {
	const output = z.toJSONSchema(apiResponses, { target: 'draft-2020-12', io: 'output', uri: ref }).schemas
	const input = z.toJSONSchema(apiRequests, { target: 'draft-2020-12', io: 'input', uri: ref }).schemas
	const schemas: Record<string, unknown> = {}
	for (const [registry, generated] of [
		[apiResponses, output],
		[apiRequests, input],
	] as const) {
		for (const [id, schema] of Object.entries(generated)) {
			const registered = registry._idmap.get(id)
			const description = registered ? registry.get(registered)?.description : undefined
			schemas[id] = clean(description ? { description, ...schema } : schema)
		}
	}
	return schemas
}

/** The id a registered schema has in the components, or a thrown error (an operation must use registered schemas). */
function componentId(schema: z.ZodType, registry: typeof apiResponses) {
	const id = registry.get(schema)?.id
	if (!id) throw new Error('API schemas of bodies and responses must be registered (schemas.server.ts)')
	return id
}

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query') {
	if (!(schema instanceof z.ZodObject)) return []
	return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
		const { description, ...generated } = clean(z.toJSONSchema(field, { target: 'draft-2020-12', io: 'input' })) as JsonSchema
		return {
			name,
			in: location,
			required: location === 'path' || !field.safeParse(undefined).success,
			...(description ? { description } : {}),
			schema: generated,
		}
	})
}

function errorResponses(codes: ErrorCode[]) {
	const byStatus = new Map<number, ErrorCode[]>()
	for (const code of new Set(codes)) byStatus.set(errorStatuses[code], [...(byStatus.get(errorStatuses[code]) ?? []), code])
	return Object.fromEntries(
		[...byStatus]
			.sort(([a], [b]) => a - b)
			.map(([status, list]) => [
				String(status),
				{
					description: `Erreur : ${list.map((code) => `\`${code}\``).join(', ')}.`,
					'x-error-codes': list,
					...(status === 429 ? { headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' }, ...rateLimitHeaders } } : {}),
					...(status === 401 ? { headers: { 'WWW-Authenticate': { $ref: '#/components/headers/WWW-Authenticate' } } } : {}),
					content: { 'application/json': { schema: { $ref: ref(componentId(ErrorResponse, apiResponses)) } } },
				},
			]),
	)
}

const rateLimitHeaders = {
	'RateLimit-Limit': { $ref: '#/components/headers/RateLimit-Limit' },
	'RateLimit-Remaining': { $ref: '#/components/headers/RateLimit-Remaining' },
	'RateLimit-Reset': { $ref: '#/components/headers/RateLimit-Reset' },
}

function operationObject(op: Operation) {
	const post = op.method === 'POST'
	const params = [...parameters(op.params, 'path'), ...parameters(op.query, 'query')]
	if (post && !op.public) params.push({ $ref: '#/components/parameters/Idempotency-Key' } as never)
	const requestBody = op.multipart
		? {
				required: true,
				content: {
					'multipart/form-data': {
						schema: {
							type: 'object',
							properties: Object.fromEntries(
								Object.entries(op.multipart.fields).map(([name, description]) => [
									name,
									{ type: 'array', items: { type: 'string', format: 'binary' }, description },
								]),
							),
							required: op.multipart.required,
						},
					},
				},
			}
		: op.body
			? {
					required: !op.body.safeParse({}).success,
					content: { 'application/json': { schema: { $ref: ref(componentId(op.body, apiRequests)) } } },
				}
			: undefined
	return {
		operationId: op.id,
		tags: [op.tag],
		summary: op.summary,
		...(op.description ? { description: op.description } : {}),
		...(op.public ? { security: [] } : {}),
		...(params.length ? { parameters: params } : {}),
		...(requestBody ? { requestBody } : {}),
		responses: {
			[String(op.success.status)]: {
				description: op.success.description,
				...(op.public ? {} : { headers: rateLimitHeaders }),
				content: { 'application/json': { schema: { $ref: ref(componentId(op.success.schema, apiResponses)) } } },
			},
			...errorResponses([...op.errors, ...(op.public ? ['internal_error' as const] : commonErrors)]),
		},
	}
}

let cached: { appUrl: string; document: Record<string, unknown> } | undefined

/** The document (built once per process: it depends only on the code and APP_URL). */
export function openApiDocument() {
	const appUrl = getEnv().APP_URL
	if (cached?.appUrl === appUrl) return cached.document
	const paths: Record<string, Record<string, unknown>> = {}
	for (const op of operations) (paths[op.path] ??= {})[op.method.toLowerCase()] = operationObject(op)
	const document = {
		openapi: '3.1.0',
		info: {
			title: 'API Renzo',
			version: '1.0.0',
			description: [
				'L’API publique de Renzo : projets, photos, transformations et crédits, pour les logiciels de transaction des agences.',
				`Authentification : \`Authorization: Bearer <clé>\` (clé créée dans Compte › Clés d’API). Erreurs : toujours \`{ "error": { "code", "message" } }\`, message dans la langue du titulaire de la clé.`,
				`Pagination par curseur (\`limit\` ≤ ${MAX_PAGE_SIZE}, \`next_cursor\`). Idempotence : en-tête \`${IDEMPOTENCY_HEADER}\` sur tout POST, réponses conservées 24 h. Limite de débit par clé et par fenêtre de ${RATE_LIMIT_WINDOW_SECONDS} s (en-têtes \`RateLimit-*\`, \`Retry-After\` sur 429). Corps JSON : ${JSON_BODY_LIMIT_BYTES / 1024} Ko au plus.`,
			].join('\n\n'),
		},
		servers: [{ url: appUrl }],
		security: [{ bearerAuth: [] }],
		tags,
		paths,
		components: {
			securitySchemes: {
				bearerAuth: { type: 'http', scheme: 'bearer', description: 'Une clé d’API `rz_live_…`, créée dans Compte › Clés d’API.' },
			},
			parameters: {
				[IDEMPOTENCY_HEADER]: {
					name: IDEMPOTENCY_HEADER,
					in: 'header',
					required: false,
					description:
						'Une valeur unique par opération (un UUID par exemple). Même clé et même requête : la première réponse est renvoyée (en-tête `Idempotent-Replayed: true`) ; même clé et requête différente : 422 ; première requête encore en cours : 409. Conservée 24 h.',
					schema: { type: 'string', minLength: 1, maxLength: 255 },
				},
			},
			headers: {
				'RateLimit-Limit': {
					description: `Requêtes permises par fenêtre de ${RATE_LIMIT_WINDOW_SECONDS} s pour cette clé.`,
					schema: { type: 'integer' },
				},
				'RateLimit-Remaining': { description: 'Requêtes restantes dans la fenêtre.', schema: { type: 'integer' } },
				'RateLimit-Reset': { description: 'Secondes avant la nouvelle fenêtre.', schema: { type: 'integer' } },
				'Retry-After': { description: 'Secondes à attendre avant de réessayer.', schema: { type: 'integer' } },
				'WWW-Authenticate': { description: '`Bearer realm="renzo-api"`', schema: { type: 'string' } },
			},
			schemas: components(),
		},
	}
	cached = { appUrl, document }
	return document
}
