import type { MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { Guide, Ui, type GuideSection } from '#app/components/help/guide.tsx'
import { getOffer } from '#app/modules/billing/offer.server.ts'
import { isBillingConfigured } from '#app/modules/billing/stripe.server.ts'
import { guidePath } from '#app/modules/help/guides.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { formatMoney } from '#app/utils/format.ts'

export const meta: MetaFunction = () => [{ title: 'Bien démarrer — Aide Renzo' }]

// The figures quoted come from this installation's configuration, not from the text.
export async function loader() {
	const env = getEnv()
	const offer = getOffer()
	return {
		welcomeCredits: env.WELCOME_CREDITS,
		codeMinutes: env.LOGIN_CODE_TTL_MINUTES,
		uploadMaxMb: Math.floor(env.UPLOAD_MAX_BYTES / (1024 * 1024)),
		billing: isBillingConfigured(),
		packs: offer.packs.map((pack) => ({
			id: pack.id,
			name: pack.name.fr,
			credits: pack.credits,
			price: formatMoney(pack.priceCents, offer.currency, 'fr'),
		})),
		plans: offer.plans.map((plan) => ({
			id: plan.id,
			name: plan.name.fr,
			credits: plan.creditsPerMonth,
			price: formatMoney(plan.priceCents, offer.currency, 'fr'),
		})),
	}
}

export default function GettingStarted() {
	const { welcomeCredits, codeMinutes, uploadMaxMb, billing, packs, plans } = useLoaderData<typeof loader>()
	const sections: GuideSection[] = [
		{
			id: 'compte',
			title: 'Votre compte, sans mot de passe',
			content: (
				<>
					<p>
						Sur la page <Link to="/login">Se connecter</Link>, saisissez votre adresse e-mail professionnelle. Renzo vous envoie un e-mail
						qui contient un bouton <Ui label="login.email.button" /> et un code à 6 chiffres.
					</p>
					<ul>
						<li>
							Le lien et le code sont valables {codeMinutes} minutes et ne servent qu’une fois. Passé ce délai, demandez simplement un
							nouvel e-mail.
						</li>
						<li>
							Vous avez demandé la connexion sur l’ordinateur mais lisez vos e-mails sur le téléphone ? Saisissez le code dans la fenêtre de
							l’ordinateur : par sécurité, le lien ouvert dans un autre navigateur ne vous connecte pas.
						</li>
						<li>
							À la première connexion, votre compte est créé
							{welcomeCredits > 0 ? <> avec {welcomeCredits} crédits offerts pour essayer</> : null}.
						</li>
					</ul>
					<p>
						Dans <Link to="/settings">Compte</Link>, vous pouvez activer la <Ui label="twoFactor.title" /> avec une application
						d’authentification, voir les appareils connectés et utiliser <Ui label="account.logoutEverywhere" /> si un téléphone est perdu.
					</p>
				</>
			),
		},
		{
			id: 'projet',
			title: 'Un projet par bien',
			content: (
				<>
					<p>
						Un projet regroupe les photos d’un bien à vendre ou à louer et toutes leurs transformations. Dans{' '}
						<Link to="/projects">Projets</Link>, remplissez <Ui label="projects.new" /> : un nom que vous reconnaîtrez (par exemple « T3
						Lyon 6e – Foch »), et si vous le souhaitez l’adresse du bien et la référence de l’annonce dans votre logiciel.
					</p>
					<ul>
						<li>La liste des projets affiche pour chacun une photo de couverture, le nombre de photos et les crédits utilisés.</li>
						<li>
							Bien vendu ou loué ? Utilisez <Ui label="projects.archive" /> : le projet quitte la liste mais reste consultable dans les
							projets archivés, et peut être réactivé.
						</li>
						<li>
							<Ui label="projects.delete" /> efface définitivement ses photos et leurs transformations : téléchargez d’abord ce que vous
							voulez garder.
						</li>
					</ul>
				</>
			),
		},
		{
			id: 'envoi',
			title: 'Envoyer les photos',
			content: (
				<>
					<p>
						Dans le projet, utilisez <Ui label="photos.add" /> : glissez-déposez vos fichiers depuis l’ordinateur, ou choisissez-les dans la
						photothèque du téléphone. Vous pouvez en envoyer plusieurs à la fois ; une barre de progression suit chaque fichier.
					</p>
					<ul>
						<li>Formats acceptés : JPEG, PNG, WebP et HEIC (le format par défaut de l’iPhone).</li>
						<li>Jusqu’à {uploadMaxMb} Mo par photo : envoyez l’original, pas une copie réduite par une messagerie.</li>
						<li>
							Renzo redresse la photo selon l’orientation de l’appareil et prépare un aperçu. Les images qu’il en tire (aperçus, vignettes,
							résultats) ne contiennent ni position GPS ni autres métadonnées personnelles.
						</li>
						<li>Une photo déjà présente dans le projet n’est pas ajoutée une seconde fois.</li>
					</ul>
					<p>
						Chaque photo passe de <Ui label="photos.status.processing" /> à <Ui label="photos.status.ready" /> en quelques secondes. Pour
						des photos qui donnent de bons résultats, lisez{' '}
						<Link to={guidePath('photos')}>Prendre des photos qui se transforment bien</Link>.
					</p>
				</>
			),
		},
		{
			id: 'commande',
			title: 'Commander une transformation',
			content: (
				<>
					<p>
						Ouvrez une photo, ou cochez plusieurs photos prêtes dans la grille du projet pour les traiter d’un coup (
						<Ui label="transformations.titleSelection" />
						). Puis :
					</p>
					<ol>
						<li>
							choisissez la transformation : home staging virtuel, désencombrement, crépuscule, ciel bleu ou amélioration (
							<Link to={guidePath('transformations')}>détail et coût de chacune</Link>) ;
						</li>
						<li>pour le home staging virtuel, choisissez la pièce et le style, ou l’un de vos styles enregistrés ;</li>
						<li>choisissez la qualité : Standard, ou HD, qui coûte plus de crédits et passe en priorité dans la file d’attente ;</li>
						<li>
							laissez cochée la case <Ui label="transformations.disclosure" /> si la photo sera publiée (voir{' '}
							<Link to={guidePath('disclosure')}>Obligations d’information</Link>) ;
						</li>
						<li>
							validez : le bouton affiche le total en crédits, qui sont réservés dès la commande. Une commande que votre solde ne couvre pas
							est refusée en entier, sans rien réserver.
						</li>
					</ol>
					<p>
						Le statut change sous vos yeux, sans recharger la page : <Ui label="transformations.status.queued" />, puis{' '}
						<Ui label="transformations.status.processing" />, puis <Ui label="transformations.status.succeeded" />. Une transformation par
						intelligence artificielle prend en général de quelques secondes à une demi-minute. Cochez <Ui label="transformations.notify" />{' '}
						pour être prévenu quand tout un lot est terminé. Tant qu’une transformation n’est pas terminée, vous pouvez l’annuler : ses
						crédits vous sont rendus.
					</p>
				</>
			),
		},
		{
			id: 'telechargement',
			title: 'Comparer et télécharger',
			content: (
				<ul>
					<li>
						<Ui label="transformations.compare" /> superpose la photo d’origine et le résultat, avec un curseur utilisable au doigt, à la
						souris ou au clavier.
					</li>
					<li>
						<Ui label="transformations.download" /> donne le fichier complet, à la résolution produite par la transformation.
					</li>
					<li>
						<Ui label="archive.download" />, sur la page du projet, réunit dans un seul fichier les photos d’origine et les transformations
						terminées.
					</li>
					<li>
						Le style ne vous plaît pas ? Utilisez <Ui label="transformations.rerun" />.
					</li>
				</ul>
			),
		},
		{
			id: 'credits',
			title: 'Les crédits',
			content: (
				<>
					<p>
						Chaque transformation coûte un nombre de crédits qui dépend de son type et de sa qualité : les montants exacts sont dans{' '}
						<Link to={guidePath('transformations')}>Les transformations et leur coût</Link>.
					</p>
					<ul>
						<li>À la commande, les crédits sont réservés : votre solde baisse aussitôt.</li>
						<li>Si la transformation réussit, ils sont consommés.</li>
						<li>Si elle échoue ou si vous l’annulez, ils vous sont rendus, automatiquement : un échec ne vous coûte rien.</li>
					</ul>
					<p>
						Votre solde s’affiche en haut de chaque page ; la page <Link to="/credits">Crédits</Link> détaille chaque mouvement
						(réservation, consommation, crédits rendus, achats) avec le solde après chacun.
					</p>
					{billing ? (
						<>
							<p>
								Pour recharger, <Ui label="billing.buy" /> depuis la page Crédits, par carte bancaire : des packs en paiement unique, dont
								les crédits n’expirent pas, ou un abonnement mensuel, résiliable à tout moment.
							</p>
							{packs.length ? (
								<p>Packs : {packs.map((pack) => `${pack.name} (${pack.credits} crédits, ${pack.price})`).join(' ; ')}.</p>
							) : null}
							{plans.length ? (
								<p>
									Abonnements : {plans.map((plan) => `${plan.name} (${plan.credits} crédits par mois, ${plan.price} par mois)`).join(' ; ')}
									.
								</p>
							) : null}
						</>
					) : (
						<p>Sur cette installation, le paiement en ligne n’est pas activé : les crédits sont ajoutés par l’équipe Renzo.</p>
					)}
				</>
			),
		},
	]
	return (
		<Guide
			guide="gettingStarted"
			lead={
				<p>
					Renzo transforme les photos de vos biens en quelques secondes : home staging virtuel, pièce vidée, ciel bleu, lumière de fin de
					journée ou simple amélioration. Voici le parcours complet, de la première connexion au téléchargement des résultats.
				</p>
			}
			sections={sections}
		/>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
