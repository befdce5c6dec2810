import { useRevalidator } from '@remix-run/react'
import { useId, useRef, useState, type DragEvent, type FormEvent } from 'react'
import { useT } from '#app/modules/i18n/use-t.ts'

type Item = { id: number; name: string; progress: number; state: 'waiting' | 'uploading' | 'done' | 'failed'; message?: string }

const ACCEPT = 'image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif,.jpg,.jpeg,.png,.webp'
const PARALLEL = 3

/** Sends one file; resolves with the server's verdict for it (never rejects). */
function sendFile(
	url: string,
	csrfToken: string,
	file: File,
	onProgress: (percent: number) => void,
): Promise<{ ok: boolean; message?: string; limited?: boolean }> {
	return new Promise((resolve) => {
		const xhr = new XMLHttpRequest()
		xhr.open('POST', url)
		xhr.setRequestHeader('X-CSRF-Token', csrfToken)
		xhr.setRequestHeader('Accept', 'application/json')
		xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(Math.round((100 * event.loaded) / event.total))
		xhr.onload = () => {
			try {
				// A refusal of the whole request (429 too many uploads) has its own message and no `files`.
				const body = JSON.parse(xhr.responseText) as { files?: { ok: boolean; message?: string }[]; message?: string }
				const result = body.files?.[0]
				resolve(result ? { ok: result.ok, message: result.message } : { ok: false, message: body.message, limited: xhr.status === 429 })
			} catch {
				resolve({ ok: false })
			}
		}
		xhr.onerror = () => resolve({ ok: false })
		const form = new FormData()
		form.append('photo', file, file.name)
		xhr.send(form)
	})
}

/**
 * Photo upload: a plain multipart form without JavaScript; with it, drag and drop or a file
 * picker, one request per file (three at a time) with its own progress bar and its own error.
 */
export function PhotoUploader({ action, csrfToken, maxMb }: { action: string; csrfToken: string; maxMb: number }) {
	const t = useT()
	const inputId = useId()
	const revalidator = useRevalidator()
	const [items, setItems] = useState<Item[]>([])
	const [dragging, setDragging] = useState(false)
	const nextId = useRef(0)
	const input = useRef<HTMLInputElement>(null)

	function update(id: number, patch: Partial<Item>) {
		setItems((current) => current.map((item) => (item.id === id ? { ...item, ...patch } : item)))
	}

	async function upload(files: File[]) {
		if (files.length === 0) return
		const queued = files.map((file) => ({ file, item: { id: nextId.current++, name: file.name, progress: 0, state: 'waiting' as const } }))
		setItems((current) => [...queued.map((q) => q.item), ...current])
		let index = 0
		// Once the server says "too many uploads", the files still waiting get that message without being sent.
		let limited: string | undefined
		const lane = async () => {
			while (index < queued.length) {
				const { file, item } = queued[index++]!
				if (limited) {
					update(item.id, { state: 'failed', message: limited })
					continue
				}
				update(item.id, { state: 'uploading' })
				const result = await sendFile(action, csrfToken, file, (progress) => update(item.id, { progress }))
				if (result.limited) limited = result.message
				update(
					item.id,
					result.ok
						? { state: 'done', progress: 100 }
						: { state: 'failed', message: result.message ?? t('photos.error.storage', { name: file.name }) },
				)
			}
		}
		await Promise.all(Array.from({ length: Math.min(PARALLEL, queued.length) }, lane))
		if (input.current) input.current.value = ''
		revalidator.revalidate()
	}

	function onSubmit(event: FormEvent<HTMLFormElement>) {
		event.preventDefault()
		void upload(Array.from(input.current?.files ?? []))
	}

	function onDrop(event: DragEvent<HTMLElement>) {
		event.preventDefault()
		setDragging(false)
		void upload(Array.from(event.dataTransfer.files))
	}

	return (
		<section
			className={`uploader${dragging ? ' dragging' : ''}`}
			aria-labelledby={`${inputId}-title`}
			onDragOver={(event) => {
				event.preventDefault()
				setDragging(true)
			}}
			onDragLeave={() => setDragging(false)}
			onDrop={onDrop}
		>
			<h2 id={`${inputId}-title`}>{t('photos.add')}</h2>
			<form method="post" encType="multipart/form-data" action={`${action}?csrf=${encodeURIComponent(csrfToken)}`} onSubmit={onSubmit}>
				<p>
					{t('photos.drop')}{' '}
					<label htmlFor={inputId} className="link-like">
						{t('photos.choose')}
					</label>
				</p>
				<input
					ref={input}
					id={inputId}
					type="file"
					name="photo"
					multiple
					accept={ACCEPT}
					aria-describedby={`${inputId}-hint`}
					onChange={(event) => void upload(Array.from(event.currentTarget.files ?? []))}
				/>
				<p className="field-hint" id={`${inputId}-hint`}>
					{t('photos.formats', { mb: maxMb })}
				</p>
				<noscript>
					<button type="submit">{t('photos.send')}</button>
				</noscript>
			</form>
			{items.length > 0 ? (
				<ul className="upload-list" aria-label={t('photos.uploading')}>
					{items.map((item) => (
						<li key={item.id} className={`upload-item upload-${item.state}`}>
							<span className="upload-name">{item.name}</span>
							<progress max={100} value={item.progress} aria-label={item.name}>
								{item.progress} %
							</progress>
							<span role="status" className="upload-state">
								{item.state === 'failed'
									? item.message
									: item.state === 'done'
										? t('photos.uploaded', { name: item.name })
										: item.state === 'uploading'
											? `${item.progress} %`
											: ''}
							</span>
						</li>
					))}
				</ul>
			) : null}
		</section>
	)
}
