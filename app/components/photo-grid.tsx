import { Link } from '@remix-run/react'
import { useT } from '#app/modules/i18n/use-t.ts'

type GridPhoto = {
	id: string
	status: 'uploading' | 'processing' | 'ready' | 'error'
	originalFilename: string
	duplicateOfId: string | null
	thumbnail: { url: string; width: number; height: number } | null
}

/**
 * The project's photos as thumbnails, each with its status. With `selectForm`, each ready photo
 * gets a checkbox that belongs to that form (the batch order), through the `form` attribute.
 */
export function PhotoGrid({
	projectId,
	photos,
	selectForm,
	pending,
}: {
	projectId: string
	photos: GridPhoto[]
	selectForm?: string
	pending?: Record<string, number>
}) {
	const t = useT()
	return (
		<ul className="photo-grid list">
			{photos.map((photo) => (
				<li key={photo.id} className={`photo-tile status-${photo.status}`}>
					<Link to={`/projects/${projectId}/photos/${photo.id}`} aria-label={t('photos.open', { name: photo.originalFilename })}>
						{photo.thumbnail ? (
							<img src={photo.thumbnail.url} alt="" width={photo.thumbnail.width} height={photo.thumbnail.height} loading="lazy" />
						) : (
							<span className="photo-placeholder" aria-hidden="true" />
						)}
					</Link>
					<p className="photo-caption">
						<span className="photo-name">{photo.originalFilename}</span>
						<span className={`pill pill-${photo.status}`}>{t(`photos.status.${photo.status}`)}</span>
					</p>
					{photo.duplicateOfId ? <p className="field-hint">{t('photos.duplicate')}</p> : null}
					{pending?.[photo.id] ? <p className="field-hint">{t('transformations.pending', { count: pending[photo.id]! })}</p> : null}
					{selectForm && photo.status === 'ready' ? (
						<label className="photo-select">
							<input type="checkbox" name="photoId" value={photo.id} form={selectForm} />
							<span className="visually-hidden">{t('transformations.select', { name: photo.originalFilename })}</span>
						</label>
					) : null}
				</li>
			))}
		</ul>
	)
}
