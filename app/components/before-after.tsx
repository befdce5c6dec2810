import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react'
import { useT } from '#app/modules/i18n/use-t.ts'

export type CompareImage = { src: string; width: number; height: number; alt: string }

const PAGE_STEP = 10

/** Moves the wipe to `value` % (clamped, whole) and returns it. */
function place(figure: HTMLElement | null, value: number) {
	const percent = Math.min(100, Math.max(0, Math.round(value)))
	figure?.style.setProperty('--before-after-position', `${percent}%`)
	return percent
}

/**
 * A before/after comparison read left to right: "before" left of the divider, "after" right of
 * it (the range's value is the divider's position, so the before share), moved by a native range input (keyboard, touch and screen readers for free). Styles in
 * app/styles/before-after.css. Without JavaScript (`@media (scripting: none)`) the two images
 * stand side by side; links open each one full size in every case. The position reaches the CSS
 * through a custom property set with CSSOM, never a style attribute (the CSP forbids those).
 */
export function BeforeAfter({
	before,
	after,
	labels,
}: {
	before: CompareImage
	after: CompareImage
	/** Visible names of the two sides; "Avant" / "Après" by default. */
	labels?: { before?: string; after?: string }
}) {
	const t = useT()
	const id = useId()
	const root = useRef<HTMLElement>(null)
	const input = useRef<HTMLInputElement>(null)
	const [percent, setPercent] = useState(50)
	const beforeLabel = labels?.before ?? t('compare.before')
	const afterLabel = labels?.after ?? t('compare.after')

	// The thumb may have been moved before hydration: start from where it is.
	useEffect(() => {
		if (input.current) setPercent(place(root.current, Number(input.current.value)))
	}, [])

	// Browsers disagree on PageUp/PageDown for range inputs: always a tenth.
	function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
		if (event.key !== 'PageUp' && event.key !== 'PageDown') return
		event.preventDefault()
		const next = place(root.current, Number(event.currentTarget.value) + (event.key === 'PageUp' ? PAGE_STEP : -PAGE_STEP))
		event.currentTarget.value = String(next)
		setPercent(next)
	}

	return (
		<figure className="before-after" ref={root}>
			<div className="before-after__stage">
				<div className="before-after__pane before-after__pane--before">
					<img src={before.src} width={before.width} height={before.height} alt={before.alt} />
					<span className="before-after__tag">{beforeLabel}</span>
				</div>
				<div className="before-after__pane before-after__pane--after">
					<img src={after.src} width={after.width} height={after.height} alt={after.alt} />
					<span className="before-after__tag">{afterLabel}</span>
				</div>
				<span className="before-after__divider" aria-hidden="true" />
			</div>
			<div className="before-after__control">
				<label htmlFor={id}>{t('compare.slider')}</label>
				<input
					ref={input}
					id={id}
					className="before-after__range"
					type="range"
					min={0}
					max={100}
					step={1}
					defaultValue={50}
					aria-valuetext={t('compare.valueText', {
						before: beforeLabel,
						beforePercent: percent,
						after: afterLabel,
						afterPercent: 100 - percent,
					})}
					onChange={(event) => setPercent(place(root.current, Number(event.currentTarget.value)))}
					onKeyDown={onKeyDown}
				/>
			</div>
			<figcaption className="before-after__links">
				<a href={before.src}>{t('compare.open', { label: beforeLabel })}</a>
				<a href={after.src}>{t('compare.open', { label: afterLabel })}</a>
			</figcaption>
		</figure>
	)
}
