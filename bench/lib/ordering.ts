// The ordering side of the transformation benches: this process orders as the web process does
// (orderTransformations, same environment as the app), for a fresh user with `credits` and a
// project of `photos` tiny ready photos (the model's work is not what is measured).
import crypto from 'node:crypto'
import type { Cleanup } from './harness.ts'

export async function prepareOrdering(
	cleanup: Cleanup,
	options: { env: Record<string, string>; appUrl: string; label: string; credits: number; photos: number },
) {
	// The env is read once per process: set, then reloaded.
	Object.assign(process.env, options.env)
	const { reloadEnv } = await import('#app/utils/env.server.ts')
	const { privileged, disconnectDb } = await import('#app/utils/db.server.ts')
	const { stopSender } = await import('#app/modules/queue/boss.server.ts')
	reloadEnv()
	await disconnectDb()
	cleanup.defer('close the database pools', async () => {
		await stopSender().catch(() => {})
		await disconnectDb()
	})
	const { findOrCreateUser } = await import('#app/modules/auth/login.server.ts')
	const { grant } = await import('#app/modules/credits/ledger.server.ts')
	const { orderTransformations } = await import('#app/modules/transformations/order.server.ts')
	const { orderSchema } = await import('#app/modules/transformations/catalog.ts')
	const { readyPhoto, roomJpeg } = await import('#tests/utils/photos.ts')

	const request = new Request(`${options.appUrl}/login`, { headers: { 'x-renzo-client-ip': '127.0.0.1' } })
	const user = await findOrCreateUser(`${options.label}-${crypto.randomBytes(4).toString('hex')}@example.fr`, 'fr', request)
	await grant(privileged(), {
		userId: user.id,
		credits: options.credits,
		reason: 'admin_adjustment',
		idempotencyKey: `${options.label}:${user.id}`,
	})
	const { id: projectId } = await privileged().project.create({ data: { userId: user.id, name: options.label }, select: { id: true } })
	const jpeg = await roomJpeg(160, 120)
	const photoIds: string[] = []
	for (let i = 0; i < options.photos; i++) photoIds.push(await readyPhoto(user.id, projectId, { bytes: jpeg }))
	/** One order of day_to_dusk (1 credit each) on those photos. */
	const order = (ids: string[]) => orderTransformations(user.id, projectId, orderSchema.parse({ kind: 'day_to_dusk', photoIds: ids }))
	return { privileged, user, projectId, photoIds, order }
}
