import { z } from 'zod'
import { ProjectFields } from '#app/modules/projects/projects.server.ts'
import { kinds, orderSchema, qualities, roomTypes } from '#app/modules/transformations/catalog.ts'
import { errorStatuses, type ErrorCode } from './errors.server.ts'
import { pageQuery } from './pagination.server.ts'

/**
 * The shapes of the public API: the zod schemas that validate requests and describe responses,
 * and from which the OpenAPI document is generated (decision 013). JSON is snake_case, dates
 * are ISO 8601 (UTC), ids are uuids. Schemas registered in `apiRequests` /
 * `apiResponses` become `#/components/schemas/<id>` in the document.
 */

type Meta = { id: string; description?: string }
/** Request bodies, documented as the client sends them (zod's input side). */
export const apiRequests = z.registry<Meta>()
/** Responses, documented as the server sends them (zod's output side). */
export const apiResponses = z.registry<Meta>()

const uuid = z.uuid()
const timestamp = z.iso.datetime().meta({ description: 'Date ISO 8601 (UTC).' })
const url = z.url().meta({ description: 'URL signée, valable peu de temps : à télécharger sans attendre, jamais à stocker.' })

export const ErrorResponse = z
	.object({
		error: z.object({
			code: z.enum(Object.keys(errorStatuses) as [ErrorCode, ...ErrorCode[]]),
			message: z.string().meta({ description: 'Explication dans la langue du titulaire de la clé.' }),
			details: z
				.array(z.object({ field: z.string(), message: z.string() }))
				.optional()
				.meta({ description: 'Pour `invalid_request` : chaque champ invalide.' }),
		}),
	})
	.register(apiResponses, { id: 'Error', description: 'La forme unique de toutes les erreurs.' })

const problem = z
	.object({ code: z.string(), message: z.string() })
	.nullable()
	.meta({ description: 'Pourquoi l’élément est en erreur (null sinon).' })

/** The page wrapper of every list. */
function page<T extends z.ZodType>(item: T, id: string) {
	return z
		.object({
			data: z.array(item),
			next_cursor: z.string().nullable().meta({ description: 'À passer en `cursor` pour la page suivante ; null : dernière page.' }),
		})
		.register(apiResponses, {
			id,
			description: 'Une page de la liste, du plus récent au plus ancien (photos : du plus ancien au plus récent).',
		})
}

// ── Projects ────────────────────────────────────────────────────────────────────────────────

export const Project = z
	.object({
		id: uuid,
		name: z.string(),
		address: z.string().nullable(),
		reference: z.string().nullable(),
		status: z.enum(['active', 'archived']),
		photo_count: z.number().int(),
		credits_used: z.number().int().meta({ description: 'Crédits des transformations réussies de ce projet.' }),
		created_at: timestamp,
		archived_at: timestamp.nullable(),
	})
	.register(apiResponses, { id: 'Project', description: 'Un projet : les photos d’un bien.' })

export const ProjectPage = page(Project, 'ProjectPage')

export const ProjectCreate = ProjectFields.strict().register(apiRequests, { id: 'ProjectCreate' })

export const ProjectListQuery = z.object({
	...pageQuery,
	status: z.enum(['active', 'archived']).optional().meta({ description: 'Ne lister que les projets actifs ou archivés.' }),
})

export const ProjectParams = z.object({ projectId: uuid })

/** A POST without body: nothing, or `{}`. */
export const EmptyBody = z.strictObject({}).register(apiRequests, { id: 'Empty' })

// ── Photos ──────────────────────────────────────────────────────────────────────────────────

export const Photo = z
	.object({
		id: uuid,
		project_id: uuid,
		status: z.enum(['uploading', 'processing', 'ready', 'error']).meta({
			description: '`processing` : variantes en cours ; `ready` : utilisable pour une transformation ; `error` : refusée au décodage.',
		}),
		filename: z.string(),
		content_type: z.string(),
		size_bytes: z.number().int(),
		width: z.number().int().nullable(),
		height: z.number().int().nullable(),
		sha256: z.string().nullable(),
		duplicate_of_id: uuid.nullable().meta({
			description: 'Photo aux mêmes octets déjà présente dans le projet, le cas échéant (connue une fois la photo traitée, `ready`).',
		}),
		error: problem,
		created_at: timestamp,
	})
	.register(apiResponses, { id: 'Photo' })

export const PhotoDetail = Photo.extend({
	urls: z.object({ thumbnail: url.nullable(), preview: url.nullable(), original: url.nullable() }),
	urls_expire_at: timestamp,
}).register(apiResponses, { id: 'PhotoDetail', description: 'Une photo et ses URL signées (vignette, aperçu, original).' })

export const PhotoPage = page(Photo, 'PhotoPage')

export const PhotoParams = z.object({ projectId: uuid, photoId: uuid })

export const UploadResult = z
	.object({
		files: z.array(
			z.object({
				filename: z.string(),
				ok: z.boolean(),
				photo_id: uuid.nullable(),
				error: problem,
			}),
		),
	})
	.register(apiResponses, { id: 'UploadResult', description: 'Le sort de chaque fichier envoyé.' })

// ── Transformations ─────────────────────────────────────────────────────────────────────────

export const Transformation = z
	.object({
		id: uuid,
		project_id: uuid,
		photo_id: uuid,
		batch_id: uuid,
		kind: z.enum(kinds),
		quality: z.enum(qualities),
		room_type: z.enum(roomTypes).nullable(),
		style: z.string().nullable(),
		custom_style_id: uuid.nullable(),
		disclosure_label: z.boolean(),
		credits_cost: z.number().int(),
		status: z.enum(['queued', 'processing', 'succeeded', 'failed', 'canceled']),
		error: problem,
		created_at: timestamp,
		started_at: timestamp.nullable(),
		completed_at: timestamp.nullable(),
		result: z
			.object({
				width: z.number().int().nullable(),
				height: z.number().int().nullable(),
				urls: z.object({ thumbnail: url.nullable(), preview: url.nullable(), full: url }),
				urls_expire_at: timestamp,
			})
			.nullable()
			.meta({ description: 'L’image obtenue, quand le statut est `succeeded`.' }),
	})
	.register(apiResponses, { id: 'Transformation' })

export const TransformationPage = page(Transformation, 'TransformationPage')

export const TransformationParams = z.object({ transformationId: uuid })

const order = orderSchema.in.shape
/** The order form's fields, snake_case; parsed again by the domain's orderSchema (one set of rules). */
export const OrderCreate = z
	.strictObject({
		photo_ids: order.photoIds.meta({ description: 'Les photos à transformer (prêtes), de 1 à 50 : une commande = un lot.' }),
		kind: order.kind,
		quality: order.quality,
		room_type: order.roomType.meta({ description: 'Pour `virtual_staging` (salon par défaut).' }),
		style: order.style.meta({ description: 'Pour `virtual_staging` (moderne par défaut).' }),
		custom_style_id: order.customStyleId.meta({ description: 'Un de vos styles enregistrés, au lieu de `style`.' }),
		disclosure_label: order.disclosureLabel.meta({
			description: 'Incruster la mention « Photo virtuellement aménagée » (aménagement et désencombrement).',
		}),
		notify_by_email: order.notifyByEmail.meta({ description: 'Un e-mail quand tout le lot est terminé.' }),
	})
	.register(apiRequests, { id: 'OrderCreate' })

export const OrderResult = z
	.object({
		batch_id: uuid,
		credits_reserved: z.number().int(),
		transformations: z.array(Transformation),
	})
	.register(apiResponses, { id: 'OrderResult', description: 'La commande : crédits réservés, une transformation par photo.' })

export const TransformationListQuery = z.object({
	...pageQuery,
	status: z.enum(['queued', 'processing', 'succeeded', 'failed', 'canceled']).optional(),
	photo_id: uuid.optional().meta({ description: 'Ne lister que les transformations de cette photo.' }),
})

// ── Credits ─────────────────────────────────────────────────────────────────────────────────

export const Balance = z
	.object({ balance: z.number().int() })
	.register(apiResponses, { id: 'Balance', description: 'Le solde de crédits.' })

export const LedgerEntry = z
	.object({
		id: uuid,
		delta: z.number().int().meta({ description: 'Crédits ajoutés (positif) ou retirés (négatif).' }),
		reason: z.enum(['welcome_bonus', 'purchase', 'subscription', 'reservation', 'capture', 'release', 'refund', 'admin_adjustment']),
		reference: z.string().nullable().meta({ description: 'Ce que concerne le mouvement : `transformation:<id>`, `purchase:<id>`…' }),
		balance_after: z.number().int(),
		note: z.string().nullable(),
		created_at: timestamp,
	})
	.register(apiResponses, { id: 'LedgerEntry', description: 'Un mouvement de crédits.' })

export const LedgerPage = page(LedgerEntry, 'LedgerPage')

export const PageQuery = z.object(pageQuery)

// ── The document itself ─────────────────────────────────────────────────────────────────────

export const OpenApiDocument = z
	.record(z.string(), z.unknown())
	.register(apiResponses, { id: 'OpenApiDocument', description: 'Ce document OpenAPI 3.1.' })
