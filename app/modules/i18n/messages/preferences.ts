import { defineMessages } from './define.ts'

export const preferencesMessages = defineMessages(
	{
		'preferences.title': 'Photos aménagées',
		'preferences.caption': 'Cocher par défaut la mention « Photo virtuellement aménagée » à la commande',
		'preferences.captionHint':
			'La mention est incrustée en bas à gauche des résultats de home staging et de désencombrement. Vous pouvez toujours la changer pour une commande.',
		'preferences.save': 'Enregistrer',
		'preferences.saved': 'Préférence enregistrée.',
		'account.more': 'Données, intégrations et sécurité',
	},
	{
		'preferences.title': 'Staged photos',
		'preferences.caption': 'Tick the « Photo virtuellement aménagée » caption by default when ordering',
		'preferences.captionHint':
			'The caption is burnt into the bottom-left corner of staging and declutter results. You can still change it for each order.',
		'preferences.save': 'Save',
		'preferences.saved': 'Preference saved.',
		'account.more': 'Data, integrations and security',
	},
)
