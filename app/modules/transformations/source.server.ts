import { sniffFormat } from '#app/modules/photos/image.server.ts'

/** What the local enhancement decodes: the original's bytes, or raw RGBA pixels for HEIC (decision 008). */
export type EnhancementSource = { data: Buffer; raw?: { width: number; height: number; channels: 4 } }

export async function decodeForEnhancement(data: Buffer, maxPixels: number): Promise<EnhancementSource> {
	if (sniffFormat(data.subarray(0, 32)) !== 'heic') return { data }
	const { decodeHeic } = await import('#app/modules/photos/heic.server.ts')
	const decoded = await decodeHeic(data, { maxPixels })
	return {
		data: Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength),
		raw: { width: decoded.width, height: decoded.height, channels: 4 },
	}
}
