import { redirect, type ActionFunctionArgs } from '@remix-run/node'
import { getSessionUser } from '#app/modules/auth/session.server.ts'
import { isLocale } from '#app/modules/i18n/catalog.ts'
import { localeCookie } from '#app/modules/i18n/locale.server.ts'
import { withUser } from '#app/utils/db.server.ts'
import { safeRedirect } from '#app/utils/redirect.ts'

export async function action({ request }: ActionFunctionArgs) {
	const form = await request.formData()
	const locale = form.get('locale')
	if (!isLocale(locale)) throw new Response('Unknown locale', { status: 400 })
	const user = await getSessionUser(request)
	if (user) await withUser(user.id, (tx) => tx.user.update({ where: { id: user.id }, data: { locale }, select: { id: true } }))
	return redirect(safeRedirect(form.get('redirectTo')), { headers: { 'Set-Cookie': await localeCookie.serialize(locale) } })
}
