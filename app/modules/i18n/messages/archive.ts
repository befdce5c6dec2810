import { defineMessages } from './define.ts'

export const archiveMessages = defineMessages(
	{
		'archive.download': 'Tout télécharger (ZIP)',
		'archive.downloadHint': 'Les photos d’origine et les transformations terminées, dans un seul fichier.',
	},
	{
		'archive.download': 'Download everything (ZIP)',
		'archive.downloadHint': 'The original photos and the finished transformations, in one file.',
	},
)
