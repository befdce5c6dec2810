import { Form } from '@remix-run/react'
import { useId } from 'react'
import { CsrfInput } from './csrf-input.tsx'

/** A folded "danger zone": deleting needs a ticked confirmation box (intent=delete, confirm=yes). */
export function ConfirmDelete({
	title,
	question,
	confirmLabel,
	open,
}: {
	title: string
	question?: string
	confirmLabel: string
	open: boolean
}) {
	const id = useId()
	return (
		<details className="card danger-zone" open={open}>
			<summary>{title}</summary>
			<Form method="post">
				<CsrfInput />
				{question ? <p>{question}</p> : null}
				<div className="choice">
					<input type="checkbox" id={id} name="confirm" value="yes" required />
					<label htmlFor={id}>{confirmLabel}</label>
				</div>
				<button type="submit" name="intent" value="delete" className="danger">
					{title}
				</button>
			</Form>
		</details>
	)
}
