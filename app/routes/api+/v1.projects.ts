import { apiRoute } from '#app/modules/api/operation.server.ts'
import { listProjects, createProjectOperation } from '#app/modules/api/v1/projects.server.ts'

const route = apiRoute(listProjects, createProjectOperation)
export const loader = route.loader
export const action = route.action
