import { Form, useLocation } from '@remix-run/react'
import { useId } from 'react'
import { locales } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { CsrfInput } from './csrf-input.tsx'

/** Language switch (works without JavaScript): stored on the account, or in a cookie before login. */
export function LanguageForm() {
	const t = useT()
	const locale = useLocale()
	const location = useLocation()
	const id = useId()
	return (
		<Form method="post" action="/resources/locale" className="actions">
			<CsrfInput />
			<input type="hidden" name="redirectTo" value={`${location.pathname}${location.search}`} />
			<label htmlFor={id}>{t('account.language')}</label>
			<select id={id} name="locale" defaultValue={locale} className="auto-width">
				{locales.map((l) => (
					<option key={l} value={l} lang={l}>
						{t(`lang.${l}`)}
					</option>
				))}
			</select>
			<button type="submit" className="secondary">
				{t('lang.change')}
			</button>
		</Form>
	)
}
