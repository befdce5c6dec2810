import { Form, Link } from '@remix-run/react'
import { CsrfInput } from '#app/components/csrf-input.tsx'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { formatDateTime } from '#app/utils/format.ts'
import type { Kind, Quality } from '#app/modules/transformations/catalog.ts'

export type HistoryItem = {
	id: string
	kind: Kind
	roomType: string | null
	style: string | null
	customStyleName: string | null
	quality: Quality
	creditsCost: number
	status: 'queued' | 'processing' | 'succeeded' | 'failed' | 'canceled'
	errorCode: string | null
	createdAt: string | Date
	thumbnail: { url: string; width: number; height: number } | null
	downloadUrl: string | null
}

type ReasonKey = Parameters<ReturnType<typeof useT>>[0]

/** A photo's transformations, newest first: status, reason of a failure, result, actions. */
export function TransformationHistory(props: { items: HistoryItem[]; selectedId: string | null; photoPath: string; filename: string }) {
	const t = useT()
	const locale = useLocale()
	if (props.items.length === 0) return <p className="empty">{t('transformations.historyEmpty')}</p>
	return (
		<ol className="history list" aria-live="polite">
			{props.items.map((item) => {
				const label = [
					t(`transformations.kind.${item.kind}`),
					item.roomType && item.kind === 'virtual_staging' ? t(`transformations.room.${item.roomType}` as ReasonKey) : null,
					item.customStyleName ?? (item.style ? t(`transformations.style.${item.style}` as ReasonKey) : null),
					t(`transformations.quality.${item.quality}`),
				]
					.filter(Boolean)
					.join(' · ')
				return (
					<li key={item.id} className={`history-item${item.id === props.selectedId ? ' is-selected' : ''}`} data-status={item.status}>
						{item.thumbnail ? (
							<img src={item.thumbnail.url} alt="" width={item.thumbnail.width} height={item.thumbnail.height} loading="lazy" />
						) : (
							<span className="photo-placeholder" aria-hidden="true" />
						)}
						<div className="history-body">
							<p className="history-title">
								<strong>{label}</strong> <span className={`pill pill-t-${item.status}`}>{t(`transformations.status.${item.status}`)}</span>
							</p>
							<p className="field-hint">
								{formatDateTime(item.createdAt, locale)} · {t('transformations.credits', { count: item.creditsCost })}
							</p>
							{item.status === 'failed' && item.errorCode ? (
								<p className="field-error">{t(`transformations.reason.${item.errorCode}` as ReasonKey)}</p>
							) : null}
							<div className="actions">
								{item.status === 'succeeded' ? (
									<>
										<Link to={`${props.photoPath}?t=${item.id}#compare`} preventScrollReset>
											{t('transformations.compare')}
										</Link>
										{item.downloadUrl ? (
											<a className="button secondary" href={item.downloadUrl}>
												{t('transformations.download')}
											</a>
										) : null}
										<Link to={`${props.photoPath}?rerun=${item.id}#order`}>{t('transformations.rerun')}</Link>
									</>
								) : null}
								{item.status === 'queued' || item.status === 'processing' ? (
									<Form method="post" className="inline-form">
										<CsrfInput />
										<input type="hidden" name="transformationId" value={item.id} />
										<button type="submit" name="intent" value="cancel" className="secondary">
											{t('transformations.cancel')}
										</button>
									</Form>
								) : null}
							</div>
						</div>
					</li>
				)
			})}
		</ol>
	)
}
