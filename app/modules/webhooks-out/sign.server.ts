import crypto from 'node:crypto'

/** A new signing secret: `whsec_` + 32 random bytes (base64url). The whole string is the HMAC key. */
export function generateSecret() {
	return `whsec_${crypto.randomBytes(32).toString('base64url')}`
}

/** The hex HMAC-SHA256, under `secret`, of `id.timestamp.body` (what receivers recompute). */
export function signPayload(secret: string, id: string, timestamp: number, body: string) {
	return crypto.createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('hex')
}

/** The `Renzo-Signature` header value. */
export function signatureHeader(secret: string, id: string, timestamp: number, body: string) {
	return `v1=${signPayload(secret, id, timestamp, body)}`
}
