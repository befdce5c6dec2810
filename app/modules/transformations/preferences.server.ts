import { withUser, type Tx } from '#app/utils/db.server.ts'

/** Whether the order form starts with the disclosure caption ticked (on unless the user said otherwise). */
export async function disclosureDefault(tx: Tx, userId: string) {
	const user = await tx.user.findUnique({ where: { id: userId }, select: { disclosureCaptionDefault: true } })
	return user?.disclosureCaptionDefault ?? true
}

/** The user's setting (Compte → Mention sur les photos aménagées); each order can still change it. */
export function setDisclosureDefault(userId: string, value: boolean) {
	return withUser(userId, (tx) =>
		tx.user.update({ where: { id: userId }, data: { disclosureCaptionDefault: value }, select: { disclosureCaptionDefault: true } }),
	)
}
