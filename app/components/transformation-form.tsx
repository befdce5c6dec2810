import { Form } from '@remix-run/react'
import { useState } from 'react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { useT } from '#app/modules/i18n/use-t.ts'
import { disclosedKinds, roomTypes, styles, type Kind, type Quality } from '#app/modules/transformations/catalog.ts'

export type OfferItem = { kind: Kind; credits: Record<Quality, number>; available: boolean }
export type OrderDefaults = { kind?: Kind; roomType?: string | null; style?: string | null; quality?: Quality }

/**
 * The order form: kind (with its cost and whether it can run here), room and style for virtual
 * staging, quality, disclosure caption. A plain form posting `intent=order`: works without
 * JavaScript; with it, the options that do not apply are hidden and the total is shown.
 * `photoIds` are hidden fields (photo page); on the project page the grid's checkboxes join
 * this form through their `form` attribute, so `id` names the form.
 */
export function TransformationForm(props: {
	id: string
	offer: OfferItem[]
	customStyles: { id: string; name: string }[]
	photoIds?: string[]
	selectedCount?: number
	balance: number
	defaults?: OrderDefaults
	/** The user's setting for the disclosure caption box (Compte). */
	captionDefault: boolean
	title: string
}) {
	const t = useT()
	const firstAvailable = props.offer.find((item) => item.available)?.kind
	const [kind, setKind] = useState<Kind | undefined>(
		props.defaults?.kind && props.offer.find((item) => item.kind === props.defaults?.kind)?.available
			? props.defaults.kind
			: firstAvailable,
	)
	const [quality, setQuality] = useState<Quality>(props.defaults?.quality ?? 'standard')
	const chosen = props.offer.find((item) => item.kind === kind)
	const count = props.photoIds?.length ?? props.selectedCount ?? 0
	const total = chosen ? chosen.credits[quality] * count : 0
	const staging = kind === 'virtual_staging'
	const defaultStyle = props.defaults?.style ?? 'modern'
	return (
		<Form method="post" id={props.id} className="card order-form" aria-labelledby={`${props.id}-title`}>
			<h2 id={`${props.id}-title`}>{props.title}</h2>
			<CsrfInput />
			{props.photoIds?.map((photoId) => (
				<input key={photoId} type="hidden" name="photoId" value={photoId} />
			))}
			<fieldset className="choice-list">
				<legend>{t('transformations.kind')}</legend>
				{props.offer.map((item) => (
					<label key={item.kind} className={`choice${item.available ? '' : ' choice-disabled'}`}>
						<input
							type="radio"
							name="kind"
							value={item.kind}
							checked={kind === item.kind}
							disabled={!item.available}
							onChange={() => setKind(item.kind)}
						/>
						<span>
							<strong>{t(`transformations.kind.${item.kind}`)}</strong>
							<span className="field-hint">
								{t(`transformations.kindHint.${item.kind}`)} ·{' '}
								{item.available
									? t('transformations.cost', { credits: item.credits.standard, hd: item.credits.hd })
									: t('transformations.needsReplicate')}
							</span>
						</span>
					</label>
				))}
			</fieldset>
			<div className="order-options" hidden={kind !== undefined && !staging}>
				<div className="field">
					<label htmlFor={`${props.id}-room`}>{t('transformations.room')}</label>
					<select id={`${props.id}-room`} name="roomType" defaultValue={props.defaults?.roomType ?? 'living_room'}>
						{roomTypes.map((room) => (
							<option key={room} value={room}>
								{t(`transformations.room.${room}`)}
							</option>
						))}
					</select>
				</div>
				<div className="field">
					<label htmlFor={`${props.id}-style`}>{t('transformations.style')}</label>
					<select id={`${props.id}-style`} name="style" defaultValue={defaultStyle}>
						{styles.map((style) => (
							<option key={style} value={style}>
								{t(`transformations.style.${style}`)}
							</option>
						))}
						{props.customStyles.length ? (
							<optgroup label={t('transformations.customStyles')}>
								{props.customStyles.map((style) => (
									<option key={style.id} value={`custom:${style.id}`}>
										{style.name}
									</option>
								))}
							</optgroup>
						) : null}
					</select>
				</div>
			</div>
			<fieldset className="choice-row">
				<legend>{t('transformations.quality')}</legend>
				{(['standard', 'hd'] as const).map((value) => (
					<label key={value} className="choice">
						<input type="radio" name="quality" value={value} checked={quality === value} onChange={() => setQuality(value)} />
						<span>{t(`transformations.quality.${value}`)}</span>
					</label>
				))}
			</fieldset>
			<div className="choice" hidden={kind !== undefined && !disclosedKinds.has(kind)}>
				<input type="checkbox" id={`${props.id}-disclosure`} name="disclosureLabel" defaultChecked={props.captionDefault} />
				<label htmlFor={`${props.id}-disclosure`}>
					{t('transformations.disclosure')}
					<span className="field-hint">{t('transformations.disclosureHint')}</span>
				</label>
			</div>
			<div className="choice">
				<input type="checkbox" id={`${props.id}-notify`} name="notifyByEmail" />
				<label htmlFor={`${props.id}-notify`}>{t('transformations.notify')}</label>
			</div>
			<p className="muted">{t('transformations.balance', { count: props.balance })}</p>
			<button type="submit" name="intent" value="order" disabled={!firstAvailable}>
				{count > 0 && chosen ? t('transformations.submit', { credits: total }) : t('transformations.submitPlain')}
			</button>
		</Form>
	)
}
