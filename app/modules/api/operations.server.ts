import type { Operation } from './operation.server.ts'
import { getCredits, listLedger } from './v1/credits.server.ts'
import { getOpenApiDocument } from './v1/meta.server.ts'
import { getPhoto, listPhotos, uploadPhotos } from './v1/photos.server.ts'
import { archiveProject, createProjectOperation, getProject, listProjects, unarchiveProject } from './v1/projects.server.ts'
import {
	cancelTransformationOperation,
	createTransformations,
	getTransformation,
	listTransformations,
} from './v1/transformations.server.ts'

/** Every operation of /api/v1, in the order of the documentation. */
export const operations: Operation[] = [
	listProjects,
	createProjectOperation,
	getProject,
	archiveProject,
	unarchiveProject,
	uploadPhotos,
	listPhotos,
	getPhoto,
	createTransformations,
	listTransformations,
	getTransformation,
	cancelTransformationOperation,
	getCredits,
	listLedger,
	getOpenApiDocument,
]
