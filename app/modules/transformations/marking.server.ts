import { crc32 } from 'node:zlib'
import { DIGITAL_SOURCE_TYPE } from './catalog.ts'

export { DIGITAL_SOURCE_TYPE }

/**
 * Machine-readable marking of AI results (EU AI Act art. 50): an XMP packet naming the IPTC
 * digital source type, written into the file itself so it travels with downloads and ZIPs.
 */
export const AI_MARKING_XMP = `<?xpacket begin="\u{feff}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    Iptc4xmpExt:DigitalSourceType="${DIGITAL_SOURCE_TYPE}"
    xmp:CreatorTool="Renzo"/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>`

export type MarkableFormat = 'jpeg' | 'png' | 'webp'

/**
 * Writes `xmp` into an encoded image WITHOUT re-encoding it (the pixels stay the model's):
 * a JPEG APP1 segment, a PNG iTXt chunk, a WebP "XMP " chunk (an extended VP8X header is added
 * to a simple file). An XMP packet already present is replaced, never duplicated.
 */
export function embedXmp(data: Buffer, format: MarkableFormat, xmp: string = AI_MARKING_XMP): Buffer {
	const packet = Buffer.from(xmp, 'utf8')
	if (format === 'jpeg') return embedJpeg(data, packet)
	if (format === 'png') return embedPng(data, packet)
	return embedWebp(data, packet)
}

export class MalformedImageError extends Error {
	override name = 'MalformedImageError'
}

const JPEG_XMP_HEADER = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1')

function embedJpeg(data: Buffer, packet: Buffer) {
	if (data[0] !== 0xff || data[1] !== 0xd8) throw new MalformedImageError('not a JPEG')
	const segmentLength = JPEG_XMP_HEADER.length + packet.length + 2
	if (segmentLength > 0xffff) throw new MalformedImageError('XMP packet too large for one JPEG segment')
	// The leading APPn/COM segments: keep all but an existing XMP one; ours goes after JFIF/Exif.
	const kept: Buffer[] = []
	let offset = 2
	while (offset + 4 <= data.length && data[offset] === 0xff) {
		const marker = data[offset + 1]!
		const isAppOrComment = (marker >= 0xe0 && marker <= 0xef) || marker === 0xfe
		if (!isAppOrComment) break
		const length = data.readUInt16BE(offset + 2)
		const end = offset + 2 + length
		if (length < 2 || end > data.length) throw new MalformedImageError('truncated JPEG segment')
		const segment = data.subarray(offset, end)
		const isXmp = marker === 0xe1 && segment.subarray(4, 4 + JPEG_XMP_HEADER.length).equals(JPEG_XMP_HEADER)
		if (!isXmp) kept.push(segment)
		offset = end
	}
	const header = Buffer.alloc(4)
	header.writeUInt16BE(0xffe1, 0)
	header.writeUInt16BE(segmentLength, 2)
	return Buffer.concat([data.subarray(0, 2), ...kept, header, JPEG_XMP_HEADER, packet, data.subarray(offset)])
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const PNG_XMP_KEYWORD = 'XML:com.adobe.xmp'

function pngChunk(type: string, body: Buffer) {
	const head = Buffer.alloc(8)
	head.writeUInt32BE(body.length, 0)
	head.write(type, 4, 'latin1')
	const crc = Buffer.alloc(4)
	crc.writeUInt32BE(crc32(body, crc32(head.subarray(4))), 0)
	return Buffer.concat([head, body, crc])
}

function embedPng(data: Buffer, packet: Buffer) {
	if (!data.subarray(0, 8).equals(PNG_SIGNATURE)) throw new MalformedImageError('not a PNG')
	// iTXt: keyword, NUL, compression flag 0, method 0, empty language tag and translated keyword.
	const itxt = pngChunk('iTXt', Buffer.concat([Buffer.from(`${PNG_XMP_KEYWORD}\0\0\0\0\0`, 'latin1'), packet]))
	const parts: Buffer[] = [PNG_SIGNATURE]
	let inserted = false
	let offset = 8
	while (offset + 12 <= data.length) {
		const length = data.readUInt32BE(offset)
		const type = data.toString('latin1', offset + 4, offset + 8)
		const end = offset + 12 + length
		if (end > data.length) throw new MalformedImageError('truncated PNG chunk')
		const chunk = data.subarray(offset, end)
		const isXmp = type === 'iTXt' && chunk.subarray(8, 8 + PNG_XMP_KEYWORD.length + 1).toString('latin1') === `${PNG_XMP_KEYWORD}\0`
		// Before the first image data (XMP must precede IDAT for streaming readers).
		if (!inserted && (type === 'IDAT' || type === 'IEND')) {
			parts.push(itxt)
			inserted = true
		}
		if (!isXmp) parts.push(chunk)
		offset = end
		if (type === 'IEND') break
	}
	if (!inserted) throw new MalformedImageError('PNG without image data')
	return Buffer.concat(parts)
}

const VP8X_XMP_FLAG = 0x04
const VP8X_ALPHA_FLAG = 0x10

function riffChunk(fourcc: string, body: Buffer) {
	const head = Buffer.alloc(8)
	head.write(fourcc, 0, 'latin1')
	head.writeUInt32LE(body.length, 4)
	return body.length % 2 ? Buffer.concat([head, body, Buffer.alloc(1)]) : Buffer.concat([head, body])
}

/** Canvas size and alpha of a simple (VP8 or VP8L) WebP, read from its bitstream header. */
function simpleWebpCanvas(fourcc: string, body: Buffer) {
	if (fourcc === 'VP8L') {
		if (body[0] !== 0x2f || body.length < 5) throw new MalformedImageError('bad VP8L header')
		const bits = body.readUInt32LE(1)
		return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, alpha: ((bits >>> 28) & 1) === 1 }
	}
	if (body.length < 10 || body[3] !== 0x9d || body[4] !== 0x01 || body[5] !== 0x2a) throw new MalformedImageError('bad VP8 header')
	return { width: body.readUInt16LE(6) & 0x3fff, height: body.readUInt16LE(8) & 0x3fff, alpha: false }
}

function embedWebp(data: Buffer, packet: Buffer) {
	if (data.toString('latin1', 0, 4) !== 'RIFF' || data.toString('latin1', 8, 12) !== 'WEBP') throw new MalformedImageError('not a WebP')
	const chunks: { fourcc: string; body: Buffer }[] = []
	let offset = 12
	while (offset + 8 <= data.length) {
		const fourcc = data.toString('latin1', offset, offset + 4)
		const size = data.readUInt32LE(offset + 4)
		const end = offset + 8 + size
		if (end > data.length) throw new MalformedImageError('truncated WebP chunk')
		chunks.push({ fourcc, body: data.subarray(offset + 8, end) })
		offset = end + (size % 2)
	}
	const first = chunks[0]
	if (!first) throw new MalformedImageError('empty WebP')
	let vp8x: Buffer
	let rest: { fourcc: string; body: Buffer }[]
	if (first.fourcc === 'VP8X') {
		vp8x = Buffer.from(first.body)
		rest = chunks.slice(1).filter((chunk) => chunk.fourcc !== 'XMP ')
	} else if (first.fourcc === 'VP8 ' || first.fourcc === 'VP8L') {
		const canvas = simpleWebpCanvas(first.fourcc, first.body)
		vp8x = Buffer.alloc(10)
		if (canvas.alpha) vp8x[0] = VP8X_ALPHA_FLAG
		vp8x.writeUIntLE(canvas.width - 1, 4, 3)
		vp8x.writeUIntLE(canvas.height - 1, 7, 3)
		rest = chunks
	} else {
		throw new MalformedImageError(`unexpected WebP chunk ${first.fourcc}`)
	}
	vp8x[0] = vp8x[0]! | VP8X_XMP_FLAG
	// XMP comes after the image data (and after EXIF) in the extended layout.
	const body = Buffer.concat([
		Buffer.from('WEBP', 'latin1'),
		riffChunk('VP8X', vp8x),
		...rest.map((chunk) => riffChunk(chunk.fourcc, chunk.body)),
		riffChunk('XMP ', packet),
	])
	const head = Buffer.alloc(8)
	head.write('RIFF', 0, 'latin1')
	head.writeUInt32LE(body.length, 4)
	return Buffer.concat([head, body])
}
