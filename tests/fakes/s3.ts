import fsp from 'node:fs/promises'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'

type S3rverOptions = {
	address: string
	port: number
	directory: string
	silent: boolean
	configureBuckets: { name: string }[]
}
type S3rver = { run(): Promise<AddressInfo>; close(): Promise<void>; httpServer?: http.Server }
// s3rver is CommonJS without type declarations: the little we use is typed here.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: S3rverOptions) => S3rver

/** One request as s3rver received it (for checking what the SDK actually sends). */
export type SeenRequest = { method: string; url: string; headers: http.IncomingHttpHeaders }

/**
 * A real S3-compatible server (s3rver) on 127.0.0.1 with one bucket, its data in a temp folder.
 * Its limits (STACK-NOTES): AbortMultipartUpload answers 405, SigV4 signatures are NOT checked
 * (expiry is), multipart ETags are plain MD5s. Connect with region us-east-1,
 * credentials S3RVER/S3RVER and forcePathStyle.
 */
export async function startS3Server(options: { bucket?: string } = {}) {
	const bucket = options.bucket ?? 'renzo-test'
	const directory = await fsp.mkdtemp(path.join(os.tmpdir(), 'renzo-s3rver-'))
	const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] })
	const { port } = await server.run()
	const requests: SeenRequest[] = []
	server.httpServer?.on('request', (req: http.IncomingMessage) => {
		requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
	})
	return {
		endpoint: `http://127.0.0.1:${port}`,
		bucket,
		region: 'us-east-1',
		credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
		/** Every request received so far, oldest first. */
		requests,
		async close() {
			server.httpServer?.closeAllConnections()
			await server.close()
			await fsp.rm(directory, { recursive: true, force: true })
		},
	}
}
