import { apiRoute } from '#app/modules/api/operation.server.ts'
import { getPhoto } from '#app/modules/api/v1/photos.server.ts'

const route = apiRoute(getPhoto)
export const loader = route.loader
export const action = route.action
