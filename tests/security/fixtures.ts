import crypto from 'node:crypto'
import { createApiKey } from '#app/modules/api/keys.server.ts'
import { grant } from '#app/modules/credits/ledger.server.ts'
import { storageKeys } from '#app/modules/storage/keys.ts'
import { getStorage } from '#app/modules/storage/storage.server.ts'
import { createEndpoint } from '#app/modules/webhooks-out/endpoints.server.ts'
import { privileged } from '#app/utils/db.server.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { readyPhoto, roomJpeg } from '#tests/utils/photos.ts'

/**
 * A user who owns one of everything the app keeps per user: a project (name, address,
 * reference), a processed photo with its variants, a finished transformation with its result, a
 * custom style, a ready data export, a purchase, ledger rows, an API key, an outgoing webhook
 * endpoint, a logged-in session and the audit events all that wrote. Every text is unique to
 * this user (`marker`), so that finding it in someone else's response is a leak.
 */
export async function userWithEverything(label: string) {
	const marker = `${label}${crypto.randomBytes(5).toString('hex')}`
	const email = `${marker.toLowerCase()}@agence-exemple.fr`
	const user = await loggedInUser({ email })
	const db = privileged()
	await grant(db, { userId: user.id, credits: 50, reason: 'admin_adjustment', idempotencyKey: `test:${user.id}` })
	const project = await db.project.create({
		data: { userId: user.id, name: `Villa ${marker}`, address: `12 rue ${marker}, 69002 Lyon`, reference: `REF-${marker}` },
		select: { id: true },
	})
	const photoId = await readyPhoto(user.id, project.id, { filename: `salon-${marker}.jpg` })
	const photo = await db.photo.findUniqueOrThrow({ where: { id: photoId }, select: { originalKey: true } })
	const style = await db.customStyle.create({
		data: { userId: user.id, name: `Style ${marker}`, prompt: `ambiance ${marker}` },
		select: { id: true },
	})
	// A finished result, stored like the worker stores one.
	const transformationId = crypto.randomUUID()
	const outputKey = storageKeys.transformed(user.id, project.id, transformationId, 'jpg')
	await getStorage().put(outputKey, await roomJpeg(640, 480), { contentType: 'image/jpeg' })
	await db.transformation.create({
		data: {
			id: transformationId,
			userId: user.id,
			projectId: project.id,
			photoId,
			batchId: crypto.randomUUID(),
			kind: 'virtual_staging',
			style: 'custom',
			customStyleId: style.id,
			creditsCost: 1,
			provider: 'local',
			status: 'succeeded',
			outputKey,
			outputWidth: 640,
			outputHeight: 480,
			completedAt: new Date(),
		},
	})
	const exportId = crypto.randomUUID()
	const exportKey = storageKeys.exportArchive(user.id, exportId)
	await getStorage().put(exportKey, Buffer.from(`export ${marker}`), { contentType: 'application/zip' })
	await db.dataExport.create({
		data: { id: exportId, userId: user.id, status: 'ready', key: exportKey, sizeBytes: 20, expiresAt: new Date(Date.now() + 86_400_000) },
	})
	const checkoutSessionId = `cs_test_${marker}`
	await db.purchase.create({
		data: {
			userId: user.id,
			packId: 'pack-10',
			credits: 10,
			amountCents: 1900,
			status: 'paid',
			stripeCheckoutSessionId: checkoutSessionId,
		},
	})
	const ledger = await db.creditLedger.findFirstOrThrow({ where: { userId: user.id }, select: { id: true }, orderBy: { seq: 'desc' } })
	const apiKey = await createApiKey(user.id, `Clé ${marker}`)
	const endpoint = await createEndpoint(user.id, {
		url: `https://hooks.example/${marker}`,
		description: `Logiciel ${marker}`,
		events: ['transformation.succeeded'],
	})
	const session = await db.session.findFirstOrThrow({ where: { userId: user.id }, select: { id: true } })
	return {
		...user,
		marker,
		projectId: project.id,
		photoId,
		originalKey: photo.originalKey,
		transformationId,
		outputKey,
		styleId: style.id,
		exportId,
		checkoutSessionId,
		ledgerId: ledger.id,
		apiKeyId: apiKey.id,
		apiKey: apiKey.secret,
		endpointId: endpoint.id,
		sessionId: session.id,
	}
}

export type Owner = Awaited<ReturnType<typeof userWithEverything>>

/** The tables that hold a `user_id` (plus `users`), read from the database itself: a new table is included by itself. */
export async function userOwnedTables(): Promise<string[]> {
	const rows = await privileged().$queryRaw<{ table_name: string }[]>`
		SELECT DISTINCT table_name FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = 'user_id' ORDER BY table_name`
	return ['users', ...rows.map((row) => row.table_name)]
}

/** Every row of every user-owned table that belongs to `userId`, as text (to compare before and after). */
export async function snapshotOf(userId: string): Promise<Record<string, string[]>> {
	const snapshot: Record<string, string[]> = {}
	for (const table of await userOwnedTables()) {
		const owner = table === 'users' ? 'id' : 'user_id'
		const rows = await privileged().$queryRawUnsafe<{ row: string }[]>(
			`SELECT to_jsonb(t)::text AS row FROM "${table}" t WHERE "${owner}" = $1::uuid ORDER BY 1`,
			userId,
		)
		snapshot[table] = rows.map((r) => r.row)
	}
	return snapshot
}
