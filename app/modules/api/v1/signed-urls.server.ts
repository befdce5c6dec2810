import { getStorage } from '#app/modules/storage/storage.server.ts'
import { getEnv } from '#app/utils/env.server.ts'

/**
 * Absolute signed URLs for API clients (the local driver mints paths, S3 full URLs), minted only
 * after the caller's query proved the object is the key owner's (decision 007).
 */
export async function signedUrl(key: string, options: { downloadName?: string; cacheable?: boolean } = {}) {
	return new URL(await getStorage().signedUrl(key, options), getEnv().APP_URL).toString()
}

/** When the URLs minted now stop working, at the earliest (cacheable ones may live a little longer). */
export function urlsExpireAt() {
	return new Date(Date.now() + getEnv().SIGNED_URL_TTL_SECONDS * 1000).toISOString()
}
