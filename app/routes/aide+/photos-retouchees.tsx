import type { MetaFunction } from '@remix-run/node'
import { Link } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { Guide, Ui, type GuideSection } from '#app/components/help/guide.tsx'
import { guidePath, SUGGESTED_CAPTION } from '#app/modules/help/guides.ts'
import { translate } from '#app/modules/i18n/catalog.ts'
import { DIGITAL_SOURCE_TYPE, disclosedKinds, DISCLOSURE_TEXT, kinds, type Kind } from '#app/modules/transformations/catalog.ts'

export const meta: MetaFunction = () => [{ title: 'Obligations d’information pour les photos retouchées — Aide Renzo' }]

// Named as in the order form: the kinds whose result can carry the burnt-in caption, and the
// other retouches (the enhancement only corrects light and colour).
const quoted = (list: readonly Kind[]) =>
	list.map((kind) => `«\u00a0${translate('fr', `transformations.kind.${kind}`)}\u00a0»`).join(' et ')
const captioned = quoted(kinds.filter((kind) => disclosedKinds.has(kind)))
const notCaptioned = quoted(kinds.filter((kind) => !disclosedKinds.has(kind) && kind !== 'enhancement'))

export default function DisclosureGuide() {
	const sections: GuideSection[] = [
		{
			id: 'pourquoi',
			title: 'Pourquoi le signaler',
			content: (
				<>
					<p>
						L’acheteur ou le locataire choisit ses visites sur photos. S’il découvre sur place une pièce vide alors que l’annonce la
						montrait meublée, ou un ciel gris là où la photo montrait un ciel bleu, la déception se transforme vite en méfiance envers le
						bien et envers l’agence, parfois en réclamation.
					</p>
					<p>Signaler clairement chaque photo retouchée :</p>
					<ul>
						<li>évite de donner une image trompeuse du bien ;</li>
						<li>protège le vendeur ou le bailleur, et votre agence ;</li>
						<li>répond aux règles rappelées plus bas (droit de la consommation, règlement européen sur l’IA, règles des portails).</li>
					</ul>
					<p>
						La mise en scène virtuelle reste un excellent outil : elle aide à se projeter dans un logement vide. Il suffit de la présenter
						pour ce qu’elle est.
					</p>
				</>
			),
		},
		{
			id: 'renzo',
			title: 'Ce que Renzo fait pour vous',
			content: (
				<>
					<h3>La mention incrustée sur l’image</h3>
					<p>
						Pour {captioned}, le formulaire de commande propose la case <Ui label="transformations.disclosure" />, cochée par défaut. Renzo
						inscrit alors « {DISCLOSURE_TEXT} » en blanc sur un bandeau sombre, en bas à gauche de l’image, à une taille proportionnelle à
						la photo (environ 3,5 % de son plus petit côté).
					</p>
					<ul>
						<li>
							La mention fait partie de l’image : elle reste visible sur tous les portails, même quand la légende se perd lors d’une
							diffusion multiple.
						</li>
						<li>
							La case se choisit à la commande. Si vous la décochez, le résultat n’a pas de mention : le signalement dépend alors de vous.
						</li>
						<li>Pour {notCaptioned}, il n’y a pas de mention incrustée : signalez la retouche dans la légende (voir ci-dessous).</li>
					</ul>
					<h3>Le marquage « contenu généré par IA »</h3>
					<p>
						Le règlement européen sur l’IA demande aussi que les images produites par une IA soient reconnaissables comme telles par les
						machines (un marquage dans le fichier lui-même, invisible à l’œil). Renzo l’inscrit dans chaque résultat produit par un modèle
						d’IA : les métadonnées XMP du fichier indiquent le type de source IPTC <code>{DIGITAL_SOURCE_TYPE.split('/').at(-1)}</code> (une
						vraie photo modifiée par une IA), et ce marquage reste dans le fichier téléchargé comme dans l’archive ZIP du projet.
						L’amélioration locale, qui n’utilise pas d’IA, n’est pas marquée. Les métadonnées se perdent pourtant souvent quand une photo
						est recompressée ou republiée : la mention visible et votre légende restent donc le moyen sûr d’informer le public.
					</p>
					<h3>Les originaux restent disponibles</h3>
					<p>
						La photo d’origine reste dans le projet, à côté de chaque résultat : <Ui label="transformations.compare" /> montre les deux
						versions, et <Ui label="archive.download" /> les réunit dans un seul fichier, prêt à être montré au vendeur ou à un acheteur qui
						le demande.
					</p>
				</>
			),
		},
		{
			id: 'comment',
			title: 'Comment le signaler dans l’annonce',
			content: (
				<>
					<h3>Dans la légende de chaque photo concernée</h3>
					<p>La formule que nous vous suggérons, courte et claire :</p>
					<blockquote data-caption="">{SUGGESTED_CAPTION}</blockquote>
					<p>Vous pouvez la préciser selon la retouche :</p>
					<ul>
						<li>home staging virtuel : « Photo retouchée – mise en scène virtuelle, mobilier non inclus » ;</li>
						<li>pièce vidée : « Photo retouchée – pièce vidée virtuellement » ;</li>
						<li>ciel remplacé : « Photo retouchée – ciel modifié » ;</li>
						<li>crépuscule : « Photo retouchée – ambiance de fin de journée simulée ».</li>
					</ul>
					<h3>Dans le texte de l’annonce</h3>
					<p>Une phrase suffit, par exemple :</p>
					<blockquote>
						Certaines photos de cette annonce sont des mises en scène virtuelles : le mobilier et la décoration présentés ne sont pas
						inclus. Les photos d’origine sont disponibles sur demande.
					</blockquote>
					<h3>Sur la photo elle-même</h3>
					<p>
						C’est la mention incrustée par Renzo. Elle complète la légende sans la remplacer : certains portails n’affichent pas les
						légendes en plein écran.
					</p>
				</>
			),
		},
		{
			id: 'bonnes-pratiques',
			title: 'Bonnes pratiques',
			content: (
				<ul>
					<li>
						Ne masquez jamais un défaut (fissure, trace d’humidité, vis-à-vis, équipement vétuste) et ne modifiez pas ce qui est vendu :
						murs, fenêtres, sols, vue, volumes. Renzo demande au modèle de conserver l’architecture, mais une IA peut se tromper : vérifiez
						chaque résultat avant de le publier, et relancez-le s’il a déplacé une fenêtre ou ajouté une porte.
					</li>
					<li>Gardez un mobilier à l’échelle de la pièce : un canapé trop petit fait paraître un salon plus grand qu’il n’est.</li>
					<li>Publiez aussi la photo d’origine, idéalement juste après la version aménagée.</li>
					<li>Prévenez le vendeur ou le bailleur et obtenez son accord avant de publier des photos retouchées.</li>
					<li>
						Gardez les originaux pendant toute la commercialisation du bien, et signalez aussi les retouches de vive voix lors des visites.
					</li>
					<li>
						L’amélioration (lumière, couleurs, netteté) n’ajoute ni ne retire rien : c’est la retouche qu’aurait faite un photographe. Elle
						n’appelle pas de mention particulière, tant qu’elle ne cache rien.
					</li>
				</ul>
			),
		},
		{
			id: 'cadre',
			title: 'Le cadre juridique, en bref',
			content: (
				<>
					<dl>
						<dt>Le droit de la consommation</dt>
						<dd>
							Le Code de la consommation interdit les pratiques commerciales trompeuses, y compris par omission d’une information
							essentielle. Une annonce dont les photos donnent une idée fausse de l’état du bien, sans le dire, peut en relever.
						</dd>
						<dt>Le règlement européen sur l’intelligence artificielle</dt>
						<dd>
							Le règlement (UE) 2024/1689, dit « AI Act », impose des obligations de transparence (article 50), applicables depuis le 2 août
							2026 : les fournisseurs de systèmes d’IA qui produisent des images doivent les marquer de façon détectable par les machines,
							et celui qui diffuse une image générée ou manipulée par IA qui ressemble à un lieu réel et pourrait passer pour authentique
							(un « hypertrucage ») doit indiquer qu’elle a été générée ou manipulée. Une photo de pièce réelle meublée par IA peut entrer
							dans cette définition : la mention incrustée et la légende y répondent.
						</dd>
						<dt>Les règles des portails et des réseaux</dt>
						<dd>
							Les portails d’annonces, les réseaux d’agences et, à l’étranger, les MLS ont souvent leurs propres exigences de signalement
							des photos retouchées. Consultez les conditions de publication des portails où vous diffusez.
						</dd>
					</dl>
					<p className="note warning">
						Ce guide donne des repères pratiques ; il ne constitue pas un conseil juridique. Pour un cas précis, interrogez votre fédération
						professionnelle ou un juriste.
					</p>
				</>
			),
		},
	]
	return (
		<Guide
			guide="disclosure"
			lead={
				<p>
					Une photo meublée virtuellement, vidée ou dont le ciel a été changé montre autre chose que ce que l’acheteur verra en visite. Le
					dire clairement protège tout le monde. Voici ce que Renzo fait pour vous, et ce qu’il vous reste à faire dans l’annonce. Pour le
					détail de chaque transformation, voir <Link to={guidePath('transformations')}>Les transformations et leur coût</Link>.
				</p>
			}
			sections={sections}
		/>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
