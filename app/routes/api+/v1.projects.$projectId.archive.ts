import { apiRoute } from '#app/modules/api/operation.server.ts'
import { archiveProject } from '#app/modules/api/v1/projects.server.ts'

const route = apiRoute(archiveProject)
export const loader = route.loader
export const action = route.action
