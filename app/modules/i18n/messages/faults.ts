import { defineMessages } from './define.ts'

/**
 * The page served while the database cannot be reached (HTTP 503, app/utils/http-app.server.ts),
 * and the refusal of input the database cannot store (control characters, U+0000).
 */
export const faultsMessages = defineMessages(
	{
		'unavailable.title': 'Service momentanément indisponible',
		'unavailable.text': 'Service momentanément indisponible, réessayez dans un instant.',
		'unavailable.detail':
			'Vos photos et vos crédits ne sont pas concernés. Si vous envoyiez un formulaire, renvoyez-le une fois la page revenue.',
		'unavailable.retry': 'Réessayer',
		'input.error.nul': 'Le formulaire contient un caractère invisible non autorisé. Corrigez la saisie et réessayez.',
		'input.error.notAForm':
			'Les pages de Renzo n’acceptent que des formulaires. Pour un programme, utilisez l’API (/api/v1, voir /api-docs).',
		'projects.error.invalidCharacters': 'Ce champ contient un caractère invisible non autorisé : retirez-le.',
	},
	{
		'unavailable.title': 'Service temporarily unavailable',
		'unavailable.text': 'Service temporarily unavailable, try again in a moment.',
		'unavailable.detail': 'Your photos and credits are safe. If you were sending a form, send it again once the page is back.',
		'unavailable.retry': 'Try again',
		'input.error.nul': 'The form contains an invisible character that is not allowed. Correct it and try again.',
		'input.error.notAForm': 'Renzo’s pages only accept forms. From a program, use the API (/api/v1, see /api-docs).',
		'projects.error.invalidCharacters': 'This field contains an invisible character that is not allowed: remove it.',
	},
)
