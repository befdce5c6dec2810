// HEVC-coded HEIC (iPhone photos) through heic-decode (libheif compiled to wasm): sharp's prebuilt
// libvips reads HEIF headers but cannot decode HEVC. Decision 008 has the measurements.
import { createRequire } from 'node:module'
import { ImageError } from './image.server.ts'

type DecodedImage = { width: number; height: number; data: Uint8ClampedArray }
type HeicDecode = {
	all(input: { buffer: Uint8Array }): Promise<
		{ width: number; height: number; decode(): Promise<DecodedImage> }[] & {
			dispose(): void
		}
	>
}

let decoder: HeicDecode | undefined
/** Loaded on first use: the web process, which only sniffs uploads, never pays for the 2 MB wasm bundle. */
function heicDecode() {
	// A CommonJS package without types.
	decoder ??= createRequire(import.meta.url)('heic-decode') as HeicDecode
	return decoder
}

// One decode at a time per process: libheif's wasm heap grows to ~300 MB for a 12 MP photo, and
// the decode runs synchronously on the main thread anyway, so running two gains nothing.
let queue: Promise<unknown> = Promise.resolve()
function oneAtATime<T>(task: () => Promise<T>): Promise<T> {
	const result = queue.then(task, task)
	queue = result.catch(() => {})
	return result
}

/**
 * Decodes the first top-level image of a HEIC file to RGBA (irot/imir applied by libheif, so the
 * pixels are upright), refusing it from its header when it has more than `maxPixels` pixels.
 */
export function decodeHeic(data: Buffer, options: { maxPixels: number }): Promise<{ width: number; height: number; data: Uint8Array }> {
	return oneAtATime(async () => {
		let images: Awaited<ReturnType<HeicDecode['all']>>
		try {
			// Parses the container only; pixels are decoded by image.decode() below.
			images = await heicDecode().all({ buffer: data })
		} catch (error) {
			if (error instanceof TypeError) throw new ImageError('unsupported', `HEIC: ${error.message}`, { cause: error })
			throw new ImageError('corrupt', `HEIC: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
		}
		try {
			const image = images[0]
			if (!image) throw new ImageError('corrupt', 'HEIC: no image in the file')
			if (image.width * image.height > options.maxPixels)
				throw new ImageError('too_many_pixels', `HEIC: ${image.width} × ${image.height} pixels is more than ${options.maxPixels}`)
			let decoded: DecodedImage
			try {
				decoded = await image.decode()
			} catch (error) {
				throw new ImageError('corrupt', `HEIC: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
			}
			const { width, height, data: rgba } = decoded
			if (rgba.length !== width * height * 4) throw new ImageError('corrupt', `HEIC: ${rgba.length} bytes for ${width} × ${height} RGBA`)
			return { width, height, data: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength) }
		} finally {
			images.dispose()
		}
	})
}
