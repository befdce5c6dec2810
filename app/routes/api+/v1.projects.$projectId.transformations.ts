import { apiRoute } from '#app/modules/api/operation.server.ts'
import { listTransformations, createTransformations } from '#app/modules/api/v1/transformations.server.ts'

const route = apiRoute(listTransformations, createTransformations)
export const loader = route.loader
export const action = route.action
