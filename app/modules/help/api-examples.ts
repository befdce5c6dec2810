/**
 * The curl examples of the « API : démarrage rapide » guide, in ONE place: the page shows them
 * (shellCommand) and app/routes/aide+/api-examples.test.ts runs each of them, in this order, with
 * the real curl against the running app (curlArguments). A command that stops working fails
 * that test, not a reader.
 */

/** A variable of the examples, as written in them: `$RENZO_URL`. */
export type Placeholder = 'RENZO_URL' | 'RENZO_API_KEY' | 'PROJECT_ID' | 'PHOTO_ID' | 'IDEMPOTENCY_KEY' | 'TRANSFORMATION_ID' | 'RESULT_URL'

export type ApiExample = {
	/** The anchor of the step on the page. */
	id: string
	title: string
	/** What the step does and why (French). */
	intro: string
	/** A shell line shown before the command, which sets a variable the command uses. */
	prepare?: { name: Placeholder; shell: string }
	/** The curl arguments, one array per line as the page shows them; `$NAME` stands for a variable. */
	lines: readonly (readonly string[])[]
	/** The status of the answer when everything goes well. */
	status: number
	/** An excerpt of the answer. Every field shown exists in the real answer, and `expect`'s values are checked. */
	response?: Record<string, unknown>
	/** Values the real answer must have at these paths (`files.0.ok`). */
	expect?: Record<string, string | number | boolean | null>
	/** Variables the answer gives to the next steps: name → path in its JSON (`transformations.0.id`). */
	captures?: Partial<Record<Placeholder, string>>
	/** Run again until the value at `path` is one of `values` (the reader polls, or waits for a webhook). */
	until?: { path: string; values: readonly string[] }
	/** The file the command reads (upload) or writes (download), in the current folder. */
	file?: { name: string; direction: 'upload' | 'download' }
	/** What to know after running it (French). */
	after?: string
}

const auth = ['-H', 'Authorization: Bearer $RENZO_API_KEY'] as const
const jsonBody = ['-H', 'Content-Type: application/json'] as const

export const apiExamples: readonly ApiExample[] = [
	{
		id: 'solde',
		title: 'Vérifier la clé : lire le solde de crédits',
		intro: 'Une première requête sans risque : si la clé est bonne, Renzo répond votre solde de crédits disponibles.',
		lines: [['-sS', '$RENZO_URL/api/v1/credits'], auth],
		status: 200,
		response: { balance: 25 },
	},
	{
		id: 'creer-projet',
		title: 'Créer un projet',
		intro:
			'Un projet par bien, comme sur le site : le nom est obligatoire, l’adresse et la référence de l’annonce dans votre logiciel sont facultatives.',
		lines: [
			['-sS', '-X', 'POST', '$RENZO_URL/api/v1/projects'],
			auth,
			jsonBody,
			['-d', '{"name": "T3 Lyon 6e – Foch", "address": "12 avenue Foch, 69006 Lyon", "reference": "LY-2026-014"}'],
		],
		status: 201,
		response: {
			id: '5b0e1c2a-7d4f-4b8e-9c61-2f3a4d5e6f70',
			name: 'T3 Lyon 6e – Foch',
			address: '12 avenue Foch, 69006 Lyon',
			reference: 'LY-2026-014',
			status: 'active',
			photo_count: 0,
			credits_used: 0,
		},
		expect: { name: 'T3 Lyon 6e – Foch', status: 'active', photo_count: 0 },
		captures: { PROJECT_ID: 'id' },
		after: 'Gardez l’identifiant `id` du projet : les étapes suivantes l’utilisent.',
	},
	{
		id: 'lister-projets',
		title: 'Lister les projets',
		intro:
			'Du plus récent au plus ancien, 20 par page par défaut (`limit` jusqu’à 100). Quand `next_cursor` n’est pas `null`, passez-le tel quel en paramètre `cursor` pour lire la page suivante.',
		lines: [['-sS', '$RENZO_URL/api/v1/projects?limit=10'], auth],
		status: 200,
		response: { data: [{ id: '5b0e1c2a-7d4f-4b8e-9c61-2f3a4d5e6f70', name: 'T3 Lyon 6e – Foch', status: 'active' }], next_cursor: null },
		expect: { 'data.0.name': 'T3 Lyon 6e – Foch', next_cursor: null },
	},
	{
		id: 'envoyer-photo',
		title: 'Envoyer une photo',
		intro:
			'En `multipart/form-data`, un champ `photo` par fichier (répétez `-F` pour en envoyer plusieurs, jusqu’à 30 par requête) : mêmes formats, tailles et contrôles que sur le site. La commande lit ici le fichier salon.jpg du dossier courant.',
		lines: [['-sS', '-X', 'POST', '$RENZO_URL/api/v1/projects/$PROJECT_ID/photos'], auth, ['-F', 'photo=@salon.jpg']],
		status: 201,
		response: {
			files: [{ filename: 'salon.jpg', ok: true, photo_id: '0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f', error: null }],
		},
		expect: { 'files.0.ok': true, 'files.0.filename': 'salon.jpg' },
		captures: { PHOTO_ID: 'files.0.photo_id' },
		file: { name: 'salon.jpg', direction: 'upload' },
		after: 'Chaque fichier réussit ou échoue seul : vérifiez `ok` pour chacun ; `error` explique un refus.',
	},
	{
		id: 'photo-prete',
		title: 'Attendre que la photo soit prête',
		intro:
			'Après l’envoi, Renzo prépare la photo (orientation, aperçus) : son statut passe de `processing` à `ready` en quelques secondes. Une transformation ne peut être commandée que sur une photo `ready`.',
		lines: [['-sS', '$RENZO_URL/api/v1/projects/$PROJECT_ID/photos/$PHOTO_ID'], auth],
		status: 200,
		response: { id: '0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f', status: 'ready', width: 4032, height: 3024 },
		until: { path: 'status', values: ['ready', 'error'] },
		expect: { status: 'ready' },
	},
	{
		id: 'commander',
		title: 'Commander une transformation',
		intro:
			'Un home staging virtuel de la photo, en style scandinave, avec la mention « Photo virtuellement aménagée » incrustée. `photo_ids` accepte jusqu’à 50 photos : une commande est un lot, dont les crédits sont réservés en une fois. L’en-tête `Idempotency-Key` porte une valeur unique par commande, que vous tirez au hasard (ici avec uuidgen).',
		prepare: { name: 'IDEMPOTENCY_KEY', shell: 'IDEMPOTENCY_KEY=$(uuidgen)' },
		lines: [
			['-sS', '-X', 'POST', '$RENZO_URL/api/v1/projects/$PROJECT_ID/transformations'],
			auth,
			jsonBody,
			['-H', 'Idempotency-Key: $IDEMPOTENCY_KEY'],
			[
				'-d',
				'{"photo_ids": ["$PHOTO_ID"], "kind": "virtual_staging", "room_type": "living_room", "style": "scandinavian", "quality": "standard", "disclosure_label": true}',
			],
		],
		status: 201,
		response: {
			batch_id: '7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918',
			credits_reserved: 2,
			transformations: [{ id: '9d1f2e3c-4b5a-4697-8e8f-7a6b5c4d3e2f', status: 'queued', kind: 'virtual_staging', credits_cost: 2 }],
		},
		expect: {
			'transformations.0.kind': 'virtual_staging',
			'transformations.0.disclosure_label': true,
		},
		captures: { TRANSFORMATION_ID: 'transformations.0.id' },
		after:
			'Réseau coupé, délai dépassé ? Renvoyez exactement la même commande avec la même `Idempotency-Key` : Renzo répond la même chose (en-tête `Idempotent-Replayed: true`) sans réserver une seconde fois. La même clé avec un autre corps est refusée (422) ; une nouvelle commande prend une nouvelle clé.',
	},
	{
		id: 'suivre',
		title: 'Suivre la transformation',
		intro:
			'Le statut passe de `queued` à `processing`, puis `succeeded` (ou `failed`, crédits rendus, avec la raison dans `error`). Interrogez toutes les 2 à 3 secondes, ou mieux, recevez un webhook `transformation.succeeded` (voir plus bas). Une fois réussie, `result.urls.full` donne le lien de téléchargement.',
		lines: [['-sS', '$RENZO_URL/api/v1/transformations/$TRANSFORMATION_ID'], auth],
		status: 200,
		response: {
			id: '9d1f2e3c-4b5a-4697-8e8f-7a6b5c4d3e2f',
			status: 'succeeded',
			credits_cost: 2,
			error: null,
			result: { width: 1184, height: 880, urls: { full: 'https://…' }, urls_expire_at: '2026-11-25T18:17:11.000Z' },
		},
		until: { path: 'status', values: ['succeeded', 'failed', 'canceled'] },
		expect: { status: 'succeeded', error: null },
		captures: { RESULT_URL: 'result.urls.full' },
	},
	{
		id: 'telecharger',
		title: 'Télécharger le résultat',
		intro:
			'Le lien `result.urls.full` est signé et valable quelques minutes (`urls_expire_at`) : il ne demande pas la clé. S’il a expiré, relisez la transformation pour en obtenir un neuf.',
		lines: [['-sS', '-o', 'salon-scandinave.jpg', '$RESULT_URL']],
		status: 200,
		file: { name: 'salon-scandinave.jpg', direction: 'download' },
	},
	{
		id: 'solde-apres',
		title: 'Relire le solde',
		intro:
			'Les crédits de la transformation ont été réservés à la commande et consommés à sa réussite. Le détail de chaque mouvement est dans `/api/v1/credits/ledger`.',
		lines: [['-sS', '$RENZO_URL/api/v1/credits/ledger?limit=2'], auth],
		status: 200,
		response: {
			data: [
				{ delta: 0, reason: 'capture', reference: 'transformation:9d1f2e3c-4b5a-4697-8e8f-7a6b5c4d3e2f', balance_after: 23 },
				{ delta: -2, reason: 'reservation', reference: 'transformation:9d1f2e3c-4b5a-4697-8e8f-7a6b5c4d3e2f', balance_after: 23 },
			],
			next_cursor: '…',
		},
		expect: { 'data.0.reason': 'capture', 'data.1.reason': 'reservation', 'data.1.delta': -2 },
	},
	{
		id: 'erreur',
		title: 'Une erreur, pour voir sa forme',
		intro:
			'Un projet sans nom est refusé. Toutes les erreurs ont la même forme : un `code` stable, que votre programme teste, et un `message` lisible, dans la langue du titulaire de la clé ; `details` nomme chaque champ en cause.',
		lines: [['-sS', '-X', 'POST', '$RENZO_URL/api/v1/projects'], auth, jsonBody, ['-d', '{"name": ""}']],
		status: 400,
		response: {
			error: {
				code: 'invalid_request',
				message: 'Requête invalide : Donnez un nom au projet.',
				details: [{ field: 'name', message: 'Donnez un nom au projet.' }],
			},
		},
		expect: { 'error.code': 'invalid_request', 'error.details.0.field': 'name' },
	},
]

/** The variables the reader sets once, before the first example. */
export const setupVariables = [
	{ name: 'RENZO_URL', description: 'l’adresse de Renzo' },
	{ name: 'RENZO_API_KEY', description: 'votre clé d’API (rz_live_…), créée dans Compte › Clés d’API' },
] as const

const PLACEHOLDER = /\$([A-Z_]+)/g

/** One argument as a POSIX shell must see it, keeping `$NAME` expandable: `"$RENZO_URL/api"`, `'{"a": 1}'`. */
export function shellQuote(arg: string) {
	if (/^[\w@%+=:,./-]+$/.test(arg)) return arg
	const parts = arg.split(/(\$[A-Z_]+)/).filter(Boolean)
	// Variables and plain text only: one pair of double quotes reads best.
	if (!/["\\`!]/.test(arg.replace(PLACEHOLDER, ''))) return `"${arg.replace(/\$(?![A-Z_])/g, '\\$')}"`
	// JSON: single quotes, each variable in double quotes between them ('{"ids": ["'"$ID"'"]}').
	return parts.map((part) => (/^\$[A-Z_]+$/.test(part) ? `"${part}"` : `'${part.replace(/'/g, `'\\''`)}'`)).join('')
}

/** The command as the page shows it: `curl` and its lines, continued with backslashes. */
export function shellCommand(example: ApiExample) {
	const command = example.lines.map((line, index) => (index === 0 ? 'curl ' : '  ') + line.map(shellQuote).join(' ')).join(' \\\n')
	return example.prepare ? `${example.prepare.shell}\n${command}` : command
}

/** The arguments to give the curl program (no shell): every `$NAME` replaced by its value. */
export function curlArguments(example: ApiExample, values: Partial<Record<Placeholder, string>>) {
	return example.lines.flat().map((arg) =>
		arg.replace(PLACEHOLDER, (match, name: string) => {
			const value = values[name as Placeholder]
			if (value === undefined) throw new Error(`${example.id}: no value for ${match}`)
			return value
		}),
	)
}

/** The placeholders an example uses. */
export function placeholdersOf(example: ApiExample) {
	return [...new Set(example.lines.flat().flatMap((arg) => [...arg.matchAll(PLACEHOLDER)].map((m) => m[1] as Placeholder)))]
}
