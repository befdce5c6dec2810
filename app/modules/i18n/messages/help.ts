import { defineMessages } from './define.ts'

/**
 * The « Aide » pages' interface strings. The guides themselves are long French texts written in
 * the pages (app/routes/aide+/); in English the index and titles are translated and each guide
 * says it is written in French.
 */
export const helpMessages = defineMessages(
	{
		'help.nav': 'Aide',
		'help.title': 'Aide',
		'help.intro': 'Des guides courts pour bien utiliser Renzo, de la première photo à l’annonce publiée.',
		'help.guides': 'Les guides',
		'help.frenchOnly': 'Ce guide est rédigé en français.',
		'help.frenchOnlyAll': 'Les guides sont rédigés en français.',
		'help.breadcrumb': 'Fil d’Ariane',
		'help.toc': 'Sommaire',
		'help.others': 'Autres guides',
		'help.guide.gettingStarted.title': 'Bien démarrer',
		'help.guide.gettingStarted.summary':
			'Se connecter, créer un projet par bien, envoyer ses photos, commander une transformation, télécharger, gérer ses crédits.',
		'help.guide.photos.title': 'Prendre des photos qui se transforment bien',
		'help.guide.photos.summary': 'Lumière, horizon, grand angle, pièce vide ou meublée, résolution et formats (HEIC de l’iPhone compris).',
		'help.guide.transformations.title': 'Les transformations et leur coût',
		'help.guide.transformations.summary':
			'Ce que fait chaque transformation, les pièces et les styles proposés, et ce qu’elle coûte en Standard et en HD.',
		'help.guide.disclosure.title': 'Obligations d’information pour les photos retouchées',
		'help.guide.disclosure.summary':
			'Pourquoi et comment signaler une mise en scène virtuelle dans une annonce, et ce que Renzo fait pour vous.',
		'help.guide.api.title': 'API : démarrage rapide',
		'help.guide.api.summary': 'Envoyer des photos et récupérer les résultats depuis votre logiciel, avec des exemples curl prêts à copier.',
	},
	{
		'help.nav': 'Help',
		'help.title': 'Help',
		'help.intro': 'Short guides to get the most out of Renzo, from the first photo to the published listing.',
		'help.guides': 'Guides',
		'help.frenchOnly': 'This guide is written in French only.',
		'help.frenchOnlyAll': 'The guides are written in French only.',
		'help.breadcrumb': 'Breadcrumb',
		'help.toc': 'Contents',
		'help.others': 'Other guides',
		'help.guide.gettingStarted.title': 'Getting started',
		'help.guide.gettingStarted.summary':
			'Log in, create one project per property, upload photos, order a transformation, download, manage credits.',
		'help.guide.photos.title': 'Taking photos that transform well',
		'help.guide.photos.summary': 'Light, horizon, wide angle, empty or furnished rooms, resolution and formats (iPhone HEIC included).',
		'help.guide.transformations.title': 'Transformations and what they cost',
		'help.guide.transformations.summary': 'What each transformation does, the rooms and styles on offer, and its cost in Standard and HD.',
		'help.guide.disclosure.title': 'Disclosing retouched photos',
		'help.guide.disclosure.summary': 'Why and how to disclose virtual staging in a listing, and what Renzo does for you.',
		'help.guide.api.title': 'API quick start',
		'help.guide.api.summary': 'Send photos and fetch results from your own software, with ready-to-copy curl examples.',
	},
)
