import crypto from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { ApiError } from './errors.server.ts'
import { MultipartFingerprint, multipartBoundary } from './idempotency.server.ts'
import { decodeSeqCursor, decodeTimeCursor, encodeSeqCursor, encodeTimeCursor } from './pagination.server.ts'

const url = new URL('http://localhost/api/v1/projects/x/photos')

/** A multipart body as a client would send it, with `boundary`, delivered in chunks of `size` bytes. */
function multipart(boundary: string, file: Buffer, size: number) {
	const body = Buffer.concat([
		Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="salon.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
		file,
		Buffer.from(`\r\n--${boundary}--\r\n`),
	])
	return new ReadableStream<Uint8Array>({
		start(controller) {
			for (let at = 0; at < body.length; at += size) controller.enqueue(body.subarray(at, at + size))
			controller.close()
		},
	})
}

async function fingerprint(boundary: string, file: Buffer, chunk: number) {
	const print = new MultipartFingerprint('POST', url, boundary)
	expect(await print.consume(multipart(boundary, file, chunk), 10_000_000)).toBe(true)
	return print.digest()
}

describe('multipart fingerprint', () => {
	test('the same files give the same fingerprint whatever the boundary and however the body is cut', async () => {
		const file = crypto.randomBytes(50_000)
		const reference = await fingerprint('----formdata-undici-012345678901', file, 65_536)
		// Chunk sizes that split the boundary at every possible place.
		for (const chunk of [1, 7, 13, 40, 4096]) expect(await fingerprint(`----WebKitFormBoundary${chunk}xyz`, file, chunk)).toBe(reference)
		const other = Buffer.from(file)
		other[25_000] = other[25_000]! ^ 1
		expect(await fingerprint('----formdata-undici-012345678901', other, 65_536)).not.toBe(reference)
	})

	test('what the handler reads through the wrapper and what drain reads after are hashed once each, in order', async () => {
		const file = crypto.randomBytes(10_000)
		const print = new MultipartFingerprint('POST', url, 'b1')
		const reader = print.wrap(multipart('b1', file, 1000)).getReader()
		await reader.read()
		await reader.read()
		expect(await print.drain(1_000_000)).toBe(true)
		expect(print.complete).toBe(true)
		expect(print.digest()).toBe(await fingerprint('b2', file, 333))
	})

	test('a body past the limit is not fingerprinted', async () => {
		const print = new MultipartFingerprint('POST', url, 'b')
		expect(await print.consume(multipart('b', crypto.randomBytes(5000), 100), 1000)).toBe(false)
	})

	test('boundary parameter, quoted or not', () => {
		expect(multipartBoundary('multipart/form-data; boundary=----abc123')).toBe('----abc123')
		expect(multipartBoundary('multipart/form-data; charset=utf-8; boundary="a b"')).toBe('a b')
		expect(multipartBoundary('application/json')).toBeNull()
	})
})

describe('cursors', () => {
	test('round trip; anything tampered is a 400 invalid_cursor', () => {
		const row = { createdAt: new Date('2026-11-25T10:00:00.123Z'), id: crypto.randomUUID() }
		expect(decodeTimeCursor(encodeTimeCursor(row))).toEqual({ at: row.createdAt, id: row.id })
		expect(decodeSeqCursor(encodeSeqCursor(42n))).toBe(42n)
		for (const bad of ['abc', encodeSeqCursor(1n), Buffer.from('["2026-01-01", "x"]').toString('base64url')]) {
			const error = (() => {
				try {
					decodeTimeCursor(bad)
				} catch (thrown) {
					return thrown
				}
			})()
			expect(error).toBeInstanceOf(ApiError)
			expect((error as ApiError).code).toBe('invalid_cursor')
		}
		expect(() => decodeSeqCursor(encodeTimeCursor(row))).toThrow(ApiError)
	})
})
