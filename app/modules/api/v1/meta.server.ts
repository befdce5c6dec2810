import { defineOperation } from '../operation.server.ts'
import { OpenApiDocument } from '../schemas.server.ts'

export const getOpenApiDocument = defineOperation({
	id: 'getOpenApiDocument',
	method: 'GET',
	path: '/api/v1/openapi.json',
	tag: 'Documentation',
	summary: 'Le document OpenAPI 3.1 de l’API',
	description: 'Ce document, généré depuis les schémas qui valident les requêtes. Sans clé.',
	public: true,
	success: { status: 200, description: 'Le document OpenAPI.', schema: OpenApiDocument },
	errors: [],
	// Imported here, not at the top: the document lists this operation too.
	handler: async () => (await import('../openapi.server.ts')).openApiDocument(),
})
