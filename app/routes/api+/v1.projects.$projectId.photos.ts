import { apiRoute } from '#app/modules/api/operation.server.ts'
import { listPhotos, uploadPhotos } from '#app/modules/api/v1/photos.server.ts'

const route = apiRoute(listPhotos, uploadPhotos)
export const loader = route.loader
export const action = route.action
