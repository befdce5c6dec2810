import { deleteProject } from '#app/modules/projects/delete.server.ts'
import type { Payload } from '#app/modules/queue/catalog.ts'

/** Deletes a project's files and rows after the user asked for it. */
export async function projectDelete(data: Payload<'project-delete'>) {
	await deleteProject(data)
}
