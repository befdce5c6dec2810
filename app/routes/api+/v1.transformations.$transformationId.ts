import { apiRoute } from '#app/modules/api/operation.server.ts'
import { getTransformation } from '#app/modules/api/v1/transformations.server.ts'

const route = apiRoute(getTransformation)
export const loader = route.loader
export const action = route.action
