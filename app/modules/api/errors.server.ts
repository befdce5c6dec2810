import type { z } from 'zod'
import { catalogs, type Locale, type MessageKey, type Translate } from '#app/modules/i18n/catalog.ts'

/**
 * Every error the public API answers, with its HTTP status. The body is always
 * `{ "error": { "code", "message" } }` (plus `details` for validation), the message in the key
 * owner's language (decision 013). The OpenAPI document lists these from here.
 */
export const errorStatuses = {
	invalid_request: 400,
	invalid_json: 400,
	invalid_cursor: 400,
	invalid_idempotency_key: 400,
	unauthorized: 401,
	account_deleting: 403,
	not_found: 404,
	route_not_found: 404,
	method_not_allowed: 405,
	idempotency_in_progress: 409,
	not_cancellable: 409,
	payload_too_large: 413,
	idempotency_mismatch: 422,
	insufficient_credits: 422,
	photo_not_ready: 422,
	kind_unavailable: 422,
	upload_refused: 422,
	rate_limited: 429,
	internal_error: 500,
} as const
export type ErrorCode = keyof typeof errorStatuses

/** What each code means, for the reference page (French, like the rest of the documentation). */
export const errorDescriptions: Record<ErrorCode, string> = {
	invalid_request: 'Paramètre, champ ou en-tête invalide ; `details` nomme chaque champ.',
	invalid_json: 'Le corps n’est pas du JSON valide, ou n’est pas envoyé en `application/json`.',
	invalid_cursor: 'Le curseur de pagination n’est pas un `next_cursor` renvoyé par l’API.',
	invalid_idempotency_key: 'L’en-tête `Idempotency-Key` est vide, trop long ou non ASCII.',
	unauthorized: 'Clé absente, inconnue ou révoquée (en-tête `WWW-Authenticate: Bearer`). Un cookie de session ne suffit jamais.',
	account_deleting: 'Le compte du titulaire de la clé est en cours de suppression.',
	not_found: 'La ressource n’existe pas, ou n’appartient pas au titulaire de la clé (les deux cas sont indiscernables).',
	route_not_found: 'Aucune opération à ce chemin.',
	method_not_allowed: 'Le chemin existe mais pas avec cette méthode (voir l’en-tête `Allow`).',
	idempotency_in_progress: 'Une requête avec la même `Idempotency-Key` est encore en cours (ou a été interrompue).',
	not_cancellable: 'La transformation est déjà terminée ou annulée.',
	payload_too_large: 'Corps JSON de plus de 64 Ko, ou photo au-delà de la taille maximale.',
	idempotency_mismatch: 'La même `Idempotency-Key` a déjà servi pour une autre requête (autre chemin ou autre corps).',
	insufficient_credits: 'Le solde ne couvre pas la commande : rien n’a été réservé.',
	photo_not_ready: 'Une des photos n’est pas encore prête (`processing`) ou a été refusée.',
	kind_unavailable: 'Ce type de transformation n’est pas disponible sur ce serveur.',
	upload_refused: 'Aucun fichier n’a été accepté (format, image endommagée, pixels, quota…) ; `details` dit pourquoi pour chacun.',
	rate_limited: 'Trop de requêtes pour cette clé dans la fenêtre en cours : attendre `Retry-After` secondes.',
	internal_error:
		'Erreur inattendue du serveur. Une requête idempotente renverra la même réponse : réessayez avec une nouvelle clé après avoir vérifié l’état.',
}

/** One invalid field of a request (query, body or path). */
export type FieldProblem = { field: string; message: string }

/** An expected failure: becomes the JSON error response; `key` is translated in the owner's language. */
export class ApiError extends Error {
	override name = 'ApiError'
	constructor(
		readonly code: ErrorCode,
		readonly key: MessageKey,
		readonly vars: Record<string, string | number> = {},
		readonly options: { headers?: Record<string, string>; details?: (t: Translate) => FieldProblem[]; locale?: Locale } = {},
	) {
		super(code)
	}

	get status() {
		return errorStatuses[this.code]
	}

	/** The response body, translated. */
	body(t: Translate) {
		const details = this.options.details?.(t)
		// Each detail is a sentence of its own; joined, they lose their final stop (the template has one).
		const joined = details?.map((d) => d.message.replace(/\.$/, '')).join(' ; ')
		const message = t(this.key, joined === undefined ? this.vars : { ...this.vars, details: joined })
		return { error: { code: this.code, message, ...(details ? { details } : {}) } }
	}
}

export const notFound = () => new ApiError('not_found', 'api.error.notFound')

/** A zod failure as a 400 whose message names each bad field in the owner's language. */
export function validationError(error: z.ZodError, where: 'query' | 'body' | 'path') {
	return new ApiError(
		'invalid_request',
		'api.error.validation',
		{},
		{ details: (t) => error.issues.map((issue) => describeIssue(issue, where, t)) },
	)
}

function describeIssue(issue: z.core.$ZodIssue, where: string, t: Translate): FieldProblem {
	const field = issue.path.length ? issue.path.join('.') : where
	// Domain schemas carry catalog keys as messages (e.g. ProjectFields): those are already sentences.
	if (Object.hasOwn(catalogs.fr, issue.message)) return { field, message: t(issue.message as MessageKey) }
	switch (issue.code) {
		case 'invalid_type':
			return {
				field,
				message:
					issue.input === undefined
						? t('api.error.field.required', { field })
						: t('api.error.field.type', { field, expected: issue.expected }),
			}
		case 'too_big':
			return { field, message: t('api.error.field.tooBig', { field, max: String(issue.maximum) }) }
		case 'too_small':
			return { field, message: t('api.error.field.tooSmall', { field, min: String(issue.minimum) }) }
		case 'invalid_value':
			return { field, message: t('api.error.field.enum', { field, values: issue.values.map(String).join(', ') }) }
		case 'invalid_format':
			return { field, message: t('api.error.field.format', { field, format: issue.format }) }
		case 'unrecognized_keys':
			return { field: issue.keys.join(', '), message: t('api.error.field.unknown', { field: issue.keys.join(', ') }) }
		default:
			return { field, message: t('api.error.field.invalid', { field }) }
	}
}
