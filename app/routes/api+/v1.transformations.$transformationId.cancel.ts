import { apiRoute } from '#app/modules/api/operation.server.ts'
import { cancelTransformationOperation } from '#app/modules/api/v1/transformations.server.ts'

const route = apiRoute(cancelTransformationOperation)
export const loader = route.loader
export const action = route.action
