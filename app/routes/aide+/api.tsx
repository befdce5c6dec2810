import type { MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { CodeBlock, Guide, type GuideSection } from '#app/components/help/guide.tsx'
import { Inline, MarkdownBlocks } from '#app/components/help/markdown.tsx'
import { errorDescriptions, errorStatuses, type ErrorCode } from '#app/modules/api/errors.server.ts'
import { IDEMPOTENCY_TTL_MS } from '#app/modules/api/idempotency.server.ts'
import { apiExamples, setupVariables, shellCommand, type ApiExample } from '#app/modules/help/api-examples.ts'
import { webhooksGuide } from '#app/modules/help/webhooks-readme.server.ts'
import { getEnv } from '#app/utils/env.server.ts'

export const meta: MetaFunction = () => [{ title: 'API : démarrage rapide — Aide Renzo' }]

// This installation's address and limits, the API's own error table and the webhook receivers'
// guide written next to the webhook code.
export async function loader() {
	const env = getEnv()
	return {
		appUrl: env.APP_URL,
		rateLimit: env.API_RATE_LIMIT_PER_MINUTE,
		idempotencyHours: IDEMPOTENCY_TTL_MS / 3_600_000,
		errors: (Object.keys(errorStatuses) as ErrorCode[]).map((code) => ({
			code,
			status: errorStatuses[code],
			description: errorDescriptions[code],
		})),
		webhooks: webhooksGuide(),
	}
}

/** What the reader sets after a step for the next ones: `export PROJECT_ID=…`. */
function Captures({ example }: { example: ApiExample }) {
	const captures = Object.entries(example.captures ?? {})
	if (!captures.length) return null
	return (
		<p>
			Pour la suite :{' '}
			{captures.map(([name, path], index) => (
				<span key={name}>
					{index ? ' ; ' : null}
					<code>{`${name}=…`}</code> (la valeur de <code>{path}</code> dans la réponse)
				</span>
			))}
			.
		</p>
	)
}

function Step({ example, number }: { example: ApiExample; number: number }) {
	return (
		<>
			<p>
				<Inline text={example.intro} />
			</p>
			<CodeBlock title={`Commande de l’étape ${number}`} code={shellCommand(example)} />
			{example.response ? (
				<CodeBlock title={`Réponse : HTTP ${example.status} (extrait)`} code={JSON.stringify(example.response, null, 2)} />
			) : (
				<p>
					Réponse : HTTP {example.status}
					{example.file?.direction === 'download' ? (
						<>
							, le fichier <code>{example.file.name}</code> est enregistré dans le dossier courant
						</>
					) : null}
					.
				</p>
			)}
			<Captures example={example} />
			{example.after ? (
				<p>
					<Inline text={example.after} />
				</p>
			) : null}
		</>
	)
}

export default function ApiGuide() {
	const { appUrl, rateLimit, idempotencyHours, errors, webhooks } = useLoaderData<typeof loader>()
	const setup = setupVariables
		.map((variable) => `# ${variable.description}\nexport ${variable.name}="${variable.name === 'RENZO_URL' ? appUrl : 'rz_live_…'}"`)
		.join('\n')
	const sections: GuideSection[] = [
		{
			id: 'avant',
			title: 'Avant de commencer',
			content: (
				<>
					<ol>
						<li>
							Créez une clé dans <Link to="/settings/api-keys">Compte › Clés d’API</Link>. Elle ne s’affiche qu’une fois : copiez-la
							aussitôt et gardez-la secrète comme un mot de passe. Elle agit en votre nom et dépense vos crédits ; si elle a fuité,
							révoquez-la sur la même page.
						</li>
						<li>
							Ouvrez un terminal (macOS, Linux, ou Git Bash et WSL sous Windows) et déclarez, une fois, l’adresse de Renzo et votre clé :
						</li>
					</ol>
					<CodeBlock title="Variables des exemples" code={setup} />
					<p>
						Chaque requête porte l’en-tête <code>Authorization: Bearer</code> suivi de la clé. Les exemples affichent les réponses JSON
						telles quelles ; les identifiants qu’elles contiennent servent aux étapes suivantes.
					</p>
					<p>
						Une clé peut faire {rateLimit} requêtes par minute. Les en-têtes <code>RateLimit-Remaining</code> et{' '}
						<code>RateLimit-Reset</code> de chaque réponse disent où vous en êtes ; au-delà, Renzo répond 429 avec <code>Retry-After</code>{' '}
						(en secondes).
					</p>
				</>
			),
		},
		...apiExamples.map((example, index) => ({
			id: example.id,
			title: `${index + 1}. ${example.title}`,
			content: <Step example={example} number={index + 1} />,
		})),
		{
			id: 'codes-erreur',
			title: 'Les codes d’erreur',
			content: (
				<>
					<p>
						Le champ <code>code</code> de chaque erreur, avec le statut HTTP qui l’accompagne. Testez le code dans votre programme, jamais
						le message, qui peut changer.
					</p>
					<dl className="error-codes">
						{errors.map((error) => (
							<div key={error.code}>
								<dt>
									{error.status} <code>{error.code}</code>
								</dt>
								<dd>
									<Inline text={error.description} />
								</dd>
							</div>
						))}
					</dl>
				</>
			),
		},
		{
			id: 'webhooks',
			title: 'Recevoir les webhooks',
			content: <MarkdownBlocks blocks={webhooks} topLevel={3} codeTitle="Exemple" />,
		},
		{
			id: 'plus-loin',
			title: 'Pour aller plus loin',
			content: (
				<ul>
					<li>
						La <Link to="/api-docs">référence de l’API</Link> décrit chaque opération, ses paramètres et ses réponses ; le document OpenAPI
						3.1 est à l’adresse <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>, pour générer un client.
					</li>
					<li>
						Toutes les requêtes POST (création de projet, envoi de photos, archivage, annulation) acceptent un en-tête{' '}
						<code>Idempotency-Key</code> : pendant {idempotencyHours} heures, la même clé avec la même requête rejoue la première réponse.
					</li>
				</ul>
			),
		},
	]
	return (
		<Guide
			guide="api"
			lead={
				<p>
					L’API de Renzo permet à votre logiciel d’annonces, ou à un simple script, de créer des projets, d’envoyer des photos et de
					récupérer les photos transformées sans passer par le site. Ce guide suit un parcours complet avec curl ; chaque commande de cette
					page est exécutée telle quelle par nos tests automatiques.
				</p>
			}
			sections={sections}
		/>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
