import { apiRoute } from '#app/modules/api/operation.server.ts'
import { getCredits } from '#app/modules/api/v1/credits.server.ts'

const route = apiRoute(getCredits)
export const loader = route.loader
export const action = route.action
