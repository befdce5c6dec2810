import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { privileged } from '#app/utils/db.server.ts'
import { apiClient } from '#tests/utils/api-client.ts'
import { startApiApp } from '#tests/utils/api-app.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { readyPhoto, roomJpeg } from '#tests/utils/photos.ts'
import { loader as docsLoader } from '#app/routes/api-docs.tsx'
import { createApiKey } from './keys.server.ts'
import { operations } from './operations.server.ts'
import { ErrorResponse } from './schemas.server.ts'

// The OpenAPI document against the app itself: every route file of app/routes/api+ is in the
// document, every documented operation answers over real HTTP (never 404/405) with a body its
// documented schema accepts, and every $ref resolves.

type Document = {
	openapi: string
	paths: Record<string, Record<string, { operationId: string }>>
	components: { schemas: Record<string, unknown> }
}

let app: Awaited<ReturnType<typeof startApiApp>>
let document: Document

beforeAll(async () => {
	app = await startApiApp()
	const answer = await fetch(`${app.url}/api/v1/openapi.json`)
	expect(answer.status).toBe(200)
	document = (await answer.json()) as Document
})
afterAll(() => app?.close())

const ROUTES_DIR = path.resolve(import.meta.dirname, '../../routes/api+')

/** The URL path of a route, from the manifest remix-flat-routes computes (parents joined), in OpenAPI form. */
function routePath(id: string): string {
	const route = app.manifest[id]!
	const parent = route.parentId && route.parentId !== 'root' ? routePath(route.parentId) : ''
	return `${parent}/${route.path ?? ''}`.replace(/\/+/g, '/').replace(/:(\w+)/g, '{$1}')
}

describe('OpenAPI document', () => {
	test('it is OpenAPI 3.1 and every $ref resolves', () => {
		expect(document.openapi).toBe('3.1.0')
		const refs = JSON.stringify(document).match(/"\$ref":"[^"]+"/g) ?? []
		expect(refs.length).toBeGreaterThan(20)
		for (const ref of new Set(refs)) {
			const pointer = ref.slice('"$ref":"#/'.length, -1).split('/')
			let node: unknown = document
			for (const part of pointer) node = (node as Record<string, unknown> | undefined)?.[part]
			expect(node, ref).toBeDefined()
		}
	})

	test('every route file under app/routes/api+ is documented, and serves no undocumented method', async () => {
		const files = fs.readdirSync(ROUTES_DIR).filter((file) => /\.tsx?$/.test(file) && !file.includes('.test.'))
		// `$.ts` is the JSON 404 of unknown paths, not an operation.
		const routeFiles = files.filter((file) => file !== '$.ts')
		expect(routeFiles.length).toBe(12)
		const documented = Object.keys(document.paths)
		const user = await loggedInUser()
		const key = await createApiKey(user.id, 'test')
		for (const file of routeFiles) {
			const id = `routes/api+/${file.replace(/\.tsx?$/, '')}`
			expect(app.manifest[id], file).toBeDefined()
			const urlPath = routePath(id)
			expect(documented, `${file} → ${urlPath}`).toContain(urlPath)
			// Methods the document does not list for this path: 405 from the route itself.
			const concrete = urlPath.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000')
			for (const method of ['GET', 'POST'].filter((m) => !(m.toLowerCase() in document.paths[urlPath]!))) {
				const answer = await fetch(`${app.url}${concrete}`, { method, headers: { Authorization: `Bearer ${key.secret}` } })
				expect(answer.status, `${method} ${urlPath}`).toBe(405)
			}
		}
		expect(documented.length).toBe(routeFiles.length)
	})

	test('every documented operation exists over HTTP and answers what its schema says', async () => {
		const user = await loggedInUser()
		const key = await createApiKey(user.id, 'test')
		const api = apiClient(app.url, key.secret)
		const project = await privileged().project.create({ data: { userId: user.id, name: 'Maison témoin' }, select: { id: true } })
		const photoId = await readyPhoto(user.id, project.id)
		const ordered = await api.post<{ transformations: { id: string }[] }>(`/api/v1/projects/${project.id}/transformations`, {
			photo_ids: [photoId],
			kind: 'enhancement',
		})
		expect(ordered.status).toBe(201)
		const ids: Record<string, string> = { projectId: project.id, photoId, transformationId: ordered.body.transformations[0]!.id }
		const jpeg = await roomJpeg(320, 240)

		// One real request per operation id: a new operation without one here fails this test.
		const requests: Record<string, (path: string) => ReturnType<typeof api.get>> = {
			listProjects: (p) => api.get(`${p}?limit=5`),
			createProject: (p) => api.post(p, { name: 'Nouveau', reference: 'REF-1' }),
			getProject: (p) => api.get(p),
			archiveProject: (p) => api.post(p),
			unarchiveProject: (p) => api.post(p, {}),
			uploadPhotos: (p) => api.upload(p, [{ name: 'chambre.jpg', data: jpeg }]),
			listPhotos: (p) => api.get(p),
			getPhoto: (p) => api.get(p),
			orderTransformations: (p) => api.post(p, { photo_ids: [photoId], kind: 'enhancement', quality: 'hd' }),
			listTransformations: (p) => api.get(`${p}?status=queued`),
			getTransformation: (p) => api.get(p),
			cancelTransformation: (p) => api.post(p),
			getCredits: (p) => api.get(p),
			listLedger: (p) => api.get(`${p}?limit=3`),
			getOpenApiDocument: (p) => apiClient(app.url, null).get(p),
		}
		const byId = new Map(operations.map((op) => [op.id, op]))
		const seen: string[] = []
		for (const [template, methods] of Object.entries(document.paths)) {
			for (const [method, documented] of Object.entries(methods)) {
				const op = byId.get(documented.operationId)!
				expect(op, documented.operationId).toBeDefined()
				expect([op.method, op.path]).toEqual([method.toUpperCase(), template])
				const request = requests[op.id]
				expect(request, `no test request for ${op.id}`).toBeDefined()
				const concrete = template.replace(/\{(\w+)\}/g, (_, name: string) => ids[name]!)
				const answer = await request!(concrete)
				expect([404, 405], `${method} ${concrete}: ${JSON.stringify(answer.body)}`).not.toContain(answer.status)
				expect(answer.status, `${op.id}: ${JSON.stringify(answer.body)}`).toBe(op.success.status)
				const parsed = op.success.schema.safeParse(answer.body)
				expect(parsed.success, `${op.id}: ${parsed.error?.message}`).toBe(true)
				seen.push(op.id)
			}
		}
		expect(seen.sort()).toEqual(operations.map((op) => op.id).sort())

		// Errors have the documented shape too.
		const missing = await api.get(`/api/v1/projects/00000000-0000-4000-8000-000000000000`)
		expect(missing.status).toBe(404)
		expect(ErrorResponse.safeParse(missing.body).success).toBe(true)
	})

	test('the reference page lists every operation and every error code, in French', async () => {
		const reference = await docsLoader()
		const listed = reference.tags.flatMap((tag) => tag.operations.map((op) => `${op.method} ${op.path}`))
		expect(listed.sort()).toEqual(operations.map((op) => `${op.method} ${op.path}`).sort())
		expect(reference.errors.map((e) => e.code)).toContain('idempotency_mismatch')
		expect(reference.tags.map((tag) => tag.name)).toEqual(['Projets', 'Photos', 'Transformations', 'Crédits', 'Documentation'])
		const order = reference.tags.find((tag) => tag.name === 'Transformations')!.operations.find((op) => op.id === 'orderTransformations')!
		expect(order.parameters.map((p) => p.name)).toEqual(['projectId', 'Idempotency-Key'])
		expect(order.responses.map((r) => r.status)).toEqual(['201', '400', '401', '403', '404', '409', '413', '422', '429', '500'])
		expect(reference.schemas.find((s) => s.id === 'OrderCreate')!.properties.map((p) => p.name)).toEqual([
			'photo_ids',
			'kind',
			'quality',
			'room_type',
			'style',
			'custom_style_id',
			'disclosure_label',
			'notify_by_email',
		])
	})
})
