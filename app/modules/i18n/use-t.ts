import { useRouteLoaderData } from '@remix-run/react'
import { defaultLocale, translate, type Locale, type Translate } from './catalog.ts'

/** The locale the root loader resolved for this request. */
export function useLocale(): Locale {
	const data = useRouteLoaderData('root') as { locale?: Locale } | undefined
	return data?.locale ?? defaultLocale
}

/** `t(key, vars)` in the current locale. */
export function useT(): Translate {
	const locale = useLocale()
	return (key, vars) => translate(locale, key, vars)
}
