import { apiRoute } from '#app/modules/api/operation.server.ts'
import { getProject } from '#app/modules/api/v1/projects.server.ts'

const route = apiRoute(getProject)
export const loader = route.loader
export const action = route.action
