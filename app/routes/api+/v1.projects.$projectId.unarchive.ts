import { apiRoute } from '#app/modules/api/operation.server.ts'
import { unarchiveProject } from '#app/modules/api/v1/projects.server.ts'

const route = apiRoute(unarchiveProject)
export const loader = route.loader
export const action = route.action
