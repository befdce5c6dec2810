import { useId, type InputHTMLAttributes } from 'react'

/** A labelled input with its hint and error, wired with aria-describedby / aria-invalid. */
export function Field({
	label,
	hint,
	error,
	...input
}: { label: string; hint?: string; error?: string | null } & InputHTMLAttributes<HTMLInputElement>) {
	const id = useId()
	const hintId = hint ? `${id}-hint` : undefined
	const errorId = error ? `${id}-error` : undefined
	return (
		<div className="field">
			<label htmlFor={id}>{label}</label>
			{hint ? (
				<p className="field-hint" id={hintId}>
					{hint}
				</p>
			) : null}
			<input
				id={id}
				aria-invalid={error ? true : undefined}
				aria-describedby={[hintId, errorId].filter(Boolean).join(' ') || undefined}
				{...input}
			/>
			{error ? (
				<p className="field-error" id={errorId} role="alert">
					{error}
				</p>
			) : null}
		</div>
	)
}

/**
 * The 6-digit code field (login, second factor, account deletion): numeric keypad on phones,
 * offered from the SMS/email autofill, a space tolerated (maxLength 7: "123 456").
 */
export function CodeField(props: { label: string; hint?: string; error?: string | null; autoFocus?: boolean }) {
	return (
		<Field
			{...props}
			name="code"
			className="code"
			inputMode="numeric"
			autoComplete="one-time-code"
			pattern="[0-9]{6}"
			maxLength={7}
			required
		/>
	)
}
