import type { MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { Guide, Ui, type GuideSection } from '#app/components/help/guide.tsx'
import { guidePath } from '#app/modules/help/guides.ts'
import { getEnv } from '#app/utils/env.server.ts'

export const meta: MetaFunction = () => [{ title: 'Prendre des photos qui se transforment bien — Aide Renzo' }]

// The limits quoted are this installation's.
export async function loader() {
	const env = getEnv()
	return { uploadMaxMb: Math.floor(env.UPLOAD_MAX_BYTES / (1024 * 1024)), maxMegapixels: Math.floor(env.IMAGE_MAX_PIXELS / 1_000_000) }
}

export default function TakingPhotos() {
	const { uploadMaxMb, maxMegapixels } = useLoaderData<typeof loader>()
	const sections: GuideSection[] = [
		{
			id: 'lumiere',
			title: 'La lumière',
			content: (
				<>
					<p>
						Une transformation part de ce que la photo montre : une pièce sombre donne un résultat terne, des fenêtres « brûlées »
						(entièrement blanches) restent blanches.
					</p>
					<ul>
						<li>Photographiez de jour, volets et rideaux ouverts. Évitez le plein soleil qui entre dans l’objectif.</li>
						<li>
							Allumez les lampes d’une pièce sombre, mais évitez de mélanger un plafonnier très jaune et la lumière du jour : la correction
							des couleurs sera moins naturelle.
						</li>
						<li>
							Laissez le mode HDR du téléphone activé : il garde à la fois l’intérieur et la vue par la fenêtre. Pas de flash, qui écrase
							les volumes et crée des reflets.
						</li>
						<li>
							Pour le passage au crépuscule, photographiez la façade de jour, par temps clair ou voilé, fenêtres bien visibles : Renzo
							allume les lumières et assombrit le ciel pour vous.
						</li>
					</ul>
				</>
			),
		},
		{
			id: 'horizon',
			title: 'L’horizon et les verticales',
			content: (
				<>
					<p>
						Des murs qui penchent font paraître une pièce de travers, et le mobilier ajouté suit la perspective de la photo. Quelques
						réflexes suffisent :
					</p>
					<ul>
						<li>Affichez la grille de l’appareil photo (réglages de l’appareil photo du téléphone) et alignez-la sur l’horizon.</li>
						<li>
							Tenez le téléphone bien droit, ni penché vers le sol ni vers le plafond : les montants de portes et les angles des murs
							doivent rester verticaux.
						</li>
						<li>Placez-vous à hauteur de poitrine, environ 1,20 à 1,50 m du sol ; un trépied léger aide beaucoup.</li>
						<li>
							Photographiez depuis un angle de la pièce, pour montrer deux murs et la profondeur ; gardez le sol visible au premier plan,
							c’est là que le mobilier sera posé.
						</li>
					</ul>
				</>
			),
		},
		{
			id: 'grand-angle',
			title: 'Le grand angle, sans déformation',
			content: (
				<>
					<p>
						Le grand angle montre toute une pièce, mais l’ultra grand angle (le « 0,5× » des téléphones) étire les bords de l’image :
						meubles et murs en bordure paraissent courbés ou allongés, et les transformations reproduisent ces défauts.
					</p>
					<ul>
						<li>Préférez l’objectif principal (1×) en reculant dans un angle, ou le 0,5× seulement pour une très petite pièce.</li>
						<li>Gardez ce qui compte (fenêtre, cheminée, cuisine) loin des bords de l’image.</li>
						<li>N’utilisez ni mode panoramique ni objectif fisheye : leur géométrie ne ressemble pas à une pièce réelle.</li>
						<li>Évitez le zoom numérique et les recadrages serrés : ils font perdre de la définition.</li>
					</ul>
				</>
			),
		},
		{
			id: 'vide-ou-meuble',
			title: 'Pièce vide ou meublée ?',
			content: (
				<>
					<p>Pour le home staging virtuel, le meilleur point de départ est une pièce vide et propre.</p>
					<ul>
						<li>
							Pièce vide : le mobilier est ajouté dans le style choisi, en respectant murs, fenêtres, sol et perspective. Retirez les
							cartons, les outils, les câbles qui traînent.
						</li>
						<li>
							Pièce encombrée ou meublée : commencez par <Ui label="transformations.kind.declutter" />, vérifiez le résultat, puis commandez
							le home staging sur la photo vidée. Ce sont deux transformations, donc deux coûts.
						</li>
						<li>
							Pièce à moitié meublée : le résultat est moins prévisible (le nouveau mobilier peut côtoyer l’ancien). Videz-la d’abord,
							réellement ou virtuellement.
						</li>
						<li>
							Choisissez la pièce réelle dans la liste (une chambre reste une chambre) : un salon installé dans une salle de bains ne trompe
							personne.
						</li>
					</ul>
				</>
			),
		},
		{
			id: 'resolution-formats',
			title: 'Résolution et formats',
			content: (
				<>
					<ul>
						<li>
							Envoyez l’original, jusqu’à {uploadMaxMb} Mo et {maxMegapixels} mégapixels par photo. Un téléphone récent (12 mégapixels et
							plus) suffit largement.
						</li>
						<li>
							Évitez les photos passées par une messagerie (WhatsApp, SMS) ou déjà publiées sur un portail : elles sont réduites et
							compressées.
						</li>
						<li>
							Formats acceptés : JPEG, PNG, WebP et HEIC. Le HEIC est le format par défaut de l’iPhone (« Haute efficacité ») : inutile de
							changer ce réglage, Renzo le lit directement.
						</li>
						<li>Ne sont pas acceptés : les fichiers RAW et DNG, les PDF, les vidéos. Exportez-les d’abord en JPEG.</li>
						<li>
							Les transformations par intelligence artificielle renvoient une image à la résolution que produit le modèle, qui peut être
							plus petite que votre original ; elle convient aux portails d’annonces. L’amélioration en HD garde, elle, la résolution
							d’origine.
						</li>
					</ul>
				</>
			),
		},
		{
			id: 'ce-qui-echoue',
			title: 'Ce qui donne de mauvais résultats',
			content: (
				<>
					<ul>
						<li>Les photos floues, bougées ou très sombres : la transformation ne recrée pas les détails absents.</li>
						<li>Les photos prises à travers une porte, ou montrant surtout un couloir : il n’y a pas de place pour le mobilier.</li>
						<li>Le ciel invisible ou presque : le remplacement du ciel n’a rien à remplacer.</li>
						<li>
							Les personnes, les reflets du photographe dans un miroir, les photos de famille et documents visibles : retirez-les avant la
							prise de vue, pour la vie privée des occupants ; le fournisseur d’IA peut aussi refuser une image (vos crédits sont alors
							rendus).
						</li>
						<li>Les photos déjà retouchées, avec un logo ou un filigrane d’une autre agence.</li>
						<li>Les captures d’écran et les photos d’une photo ou d’un écran.</li>
					</ul>
					<p>
						Si une transformation échoue, la raison s’affiche sur la page de la photo et les crédits sont rendus. Une transformation réussie
						mais décevante se relance avec un autre style ; elle coûte alors de nouveau ses crédits (voir{' '}
						<Link to={guidePath('transformations')}>Les transformations et leur coût</Link>).
					</p>
				</>
			),
		},
		{
			id: 'check-list',
			title: 'La liste avant de partir',
			content: (
				<ol>
					<li>Volets ouverts, lampes d’appoint allumées si besoin, pièce rangée.</li>
					<li>Grille affichée, téléphone droit, à hauteur de poitrine.</li>
					<li>Objectif 1×, depuis un angle, le sol visible.</li>
					<li>Une photo par pièce au minimum, plus la façade et la vue.</li>
					<li>Pas de personne, pas de reflet, pas de document personnel dans le champ.</li>
				</ol>
			),
		},
	]
	return (
		<Guide
			guide="photos"
			lead={
				<p>
					Une bonne transformation commence par une bonne photo. Ces conseils valent pour un téléphone comme pour un appareil photo, et
					prennent quelques minutes par visite.
				</p>
			}
			sections={sections}
		/>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
