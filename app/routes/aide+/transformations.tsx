import type { MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { Guide, Ui, type GuideSection } from '#app/components/help/guide.tsx'
import { guidePath } from '#app/modules/help/guides.ts'
import { translate } from '#app/modules/i18n/catalog.ts'
import { disclosedKinds, DISCLOSURE_TEXT, kinds, roomTypes, styles, type Kind, type Style } from '#app/modules/transformations/catalog.ts'
import { getCatalog, isAvailable } from '#app/modules/transformations/catalog.server.ts'
import { STANDARD_MAX_SIDE } from '#app/modules/transformations/enhance.server.ts'

export const meta: MetaFunction = () => [{ title: 'Les transformations et leur coût — Aide Renzo' }]

/**
 * Everything this page states about kinds, costs, providers, rooms and styles is read here from
 * the effective catalogue (defaults + TRANSFORMATIONS_CONFIG): the guide cannot drift from what
 * an order really costs.
 */
export async function loader() {
	const catalog = getCatalog()
	return {
		kinds: kinds.map((kind) => {
			const config = catalog[kind]
			return {
				kind,
				credits: config.credits,
				ai: config.provider === 'replicate',
				model: config.model,
				hdModel: config.hdModel ?? config.model,
				available: isAvailable(kind, catalog),
				disclosed: disclosedKinds.has(kind),
			}
		}),
		roomTypes,
		styles,
		standardMaxSide: STANDARD_MAX_SIDE,
	}
}

/** What each kind does, for an agent. A new kind without its description does not compile. */
const descriptions: Record<Kind, string> = {
	virtual_staging:
		'Meuble et décore une pièce vide selon le type de pièce et le style choisis, en gardant murs, fenêtres, portes, sol, plafond, direction de la lumière et perspective. Idéal pour aider l’acheteur à se projeter dans un logement vide.',
	declutter:
		'Retire meubles, objets et effets personnels pour montrer la pièce vide et son volume. Utile avant un home staging virtuel, ou pour un logement encore occupé.',
	day_to_dusk:
		'Transforme une photo de jour en photo de fin de journée : ciel bleu profond, lueur chaude à l’horizon, lumières allumées derrière les fenêtres et à l’extérieur. Pour les façades et les jardins.',
	sky_replacement:
		'Remplace un ciel gris ou blanc par un ciel bleu avec quelques nuages, et ajuste la lumière sur le bâtiment. Rien d’autre n’est modifié.',
	enhancement:
		'Corrige la balance des blancs, étire les niveaux (ombres et hautes lumières), ravive légèrement les couleurs et ajoute un peu de netteté. Aucun élément n’est ajouté ni retiré.',
}

const styleDescriptions: Record<Style, string> = {
	modern: 'lignes épurées, tons neutres, mobilier contemporain',
	scandinavian: 'bois clair, textiles blancs et beiges, ambiance douce et lumineuse',
	industrial: 'métal noir, cuir, bois brut, esprit loft',
	french_classic: 'élégance haussmannienne, moulures, velours et laiton, mobilier qui met le parquet en valeur',
	bohemian: 'rotin, plantes, motifs chaleureux, tapis superposés',
	minimalist: 'très peu de meubles, atmosphère calme et dépouillée',
	coastal: 'lin, bleus doux et couleurs de sable, fibres naturelles',
}

const fr = translate.bind(null, 'fr')
const creditsText = (count: number) => (count <= 1 ? `${count} crédit` : `${count} crédits`)

export default function TransformationsGuide() {
	const data = useLoaderData<typeof loader>()
	const staging = data.kinds.find((item) => item.kind === 'virtual_staging')!
	const anyUnavailable = data.kinds.some((item) => !item.available)
	const sections: GuideSection[] = [
		{
			id: 'tarifs',
			title: 'Les coûts en un coup d’œil',
			content: (
				<>
					<div className="table-scroll" role="region" aria-labelledby="tarifs-caption" tabIndex={0}>
						<table>
							<caption id="tarifs-caption">Coût par photo, en crédits</caption>
							<thead>
								<tr>
									<th scope="col">Transformation</th>
									<th scope="col">Standard</th>
									<th scope="col">HD</th>
								</tr>
							</thead>
							<tbody>
								{data.kinds.map((item) => (
									<tr key={item.kind} data-kind={item.kind}>
										<th scope="row">
											{fr(`transformations.kind.${item.kind}`)}
											{item.available ? null : <span className="unavailable">Non disponible sur cette installation</span>}
										</th>
										<td data-quality="standard">{creditsText(item.credits.standard)}</td>
										<td data-quality="hd">{creditsText(item.credits.hd)}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
					<p>
						Le coût d’une commande est celui d’une photo multiplié par le nombre de photos. Par exemple, un home staging virtuel de 8 photos
						en Standard coûte 8 × {staging.credits.standard} = {creditsText(8 * staging.credits.standard)}.
					</p>
					{anyUnavailable ? (
						<p className="note">
							Les transformations par intelligence artificielle demandent que l’installation soit reliée à son fournisseur d’IA, ce qui
							n’est pas le cas ici : dans le formulaire, elles apparaissent grisées avec la mention{' '}
							<Ui label="transformations.needsReplicate" />.
						</p>
					) : null}
				</>
			),
		},
		{
			id: 'standard-hd',
			title: 'Standard ou HD ?',
			content: (
				<ul>
					<li>Standard convient à la plupart des annonces en ligne.</li>
					<li>HD passe en priorité dans la file d’attente : vos résultats arrivent plus vite quand la demande est forte.</li>
					{data.kinds.some((item) => item.ai && item.hdModel !== item.model) ? (
						<li>Pour les transformations par IA, HD utilise un modèle plus précis, mais plus lent.</li>
					) : null}
					{data.kinds.some((item) => item.kind === 'enhancement' && !item.ai) ? (
						<li>
							Pour l’amélioration, Standard limite le plus grand côté à {data.standardMaxSide} pixels ; HD garde la résolution de votre
							original.
						</li>
					) : null}
				</ul>
			),
		},
		{
			id: 'detail',
			title: 'Ce que fait chaque transformation',
			content: data.kinds.map((item) => (
				<div key={item.kind} data-kind={item.kind}>
					<h3>{fr(`transformations.kind.${item.kind}`)}</h3>
					<p>{descriptions[item.kind]}</p>
					<ul>
						<li>
							Coût : {creditsText(item.credits.standard)} en Standard, {creditsText(item.credits.hd)} en HD, par photo.
						</li>
						<li>
							{item.ai
								? item.hdModel === item.model
									? `Réalisée par intelligence artificielle (modèle ${item.model}).`
									: `Réalisée par intelligence artificielle (modèle ${item.model} ; en HD, ${item.hdModel}).`
								: 'Réalisée sur les serveurs de Renzo, sans intelligence artificielle.'}
						</li>
						{item.disclosed ? (
							<li>
								La mention « {DISCLOSURE_TEXT} » peut être incrustée sur le résultat (case cochée par défaut). Voir{' '}
								<Link to={guidePath('disclosure')}>Obligations d’information</Link>.
							</li>
						) : item.ai ? (
							<li>
								La photo est retouchée : signalez-le dans l’annonce (voir{' '}
								<Link to={guidePath('disclosure')}>Obligations d’information</Link>
								).
							</li>
						) : null}
						{item.available ? null : <li>Non disponible sur cette installation.</li>}
					</ul>
				</div>
			)),
		},
		{
			id: 'pieces-styles',
			title: 'Pièces et styles du home staging virtuel',
			content: (
				<>
					<h3>Pièces</h3>
					<p>Indiquez la pièce réellement photographiée : le mobilier ajouté en dépend.</p>
					<ul className="room-list">
						{data.roomTypes.map((room) => (
							<li key={room} data-room={room}>
								{fr(`transformations.room.${room}`)}
							</li>
						))}
					</ul>
					<h3>Styles</h3>
					<dl className="style-list">
						{data.styles.map((style) => (
							<div key={style} data-style={style}>
								<dt>{fr(`transformations.style.${style}`)}</dt>
								<dd>{styleDescriptions[style]}</dd>
							</div>
						))}
					</dl>
					<h3>Vos propres styles</h3>
					<p>
						Dans <Link to="/styles">{fr('styles.title')}</Link>, enregistrez un style à l’image de votre agence : une description des
						meubles, matières, couleurs et de l’ambiance (par exemple « Art déco, laiton et velours vert »). C’est cette description qui
						guide l’IA ; la photo d’exemple, facultative, vous aide à reconnaître le style. Il apparaît ensuite dans la liste des styles, au
						même coût que le home staging virtuel.
					</p>
				</>
			),
		},
		{
			id: 'debit',
			title: 'Quand les crédits sont-ils débités ?',
			content: (
				<ol>
					<li>
						À la commande, les crédits de toutes les photos sont réservés en une fois ; si le solde ne suffit pas, rien n’est commandé.
					</li>
					<li>Quand une transformation réussit, ses crédits sont consommés.</li>
					<li>
						Si elle échoue (photo refusée par le fournisseur, résultat inutilisable, délai dépassé) ou si vous l’annulez avant la fin, ses
						crédits sont rendus automatiquement.
					</li>
					<li>Relancer avec un autre style est une nouvelle commande, facturée comme la première.</li>
				</ol>
			),
		},
	]
	return (
		<Guide
			guide="transformations"
			lead={
				<p>
					Renzo propose {data.kinds.length} transformations. Les coûts et les options de cette page sont lus dans la configuration en
					vigueur : ce sont ceux que vous paierez.
				</p>
			}
			sections={sections}
		/>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
