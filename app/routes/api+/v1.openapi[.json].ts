import { apiRoute } from '#app/modules/api/operation.server.ts'
import { getOpenApiDocument } from '#app/modules/api/v1/meta.server.ts'

const route = apiRoute(getOpenApiDocument)
export const loader = route.loader
export const action = route.action
