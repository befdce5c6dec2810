import crypto from 'node:crypto'
import { getEnv } from './env.server.ts'

/** HMAC-SHA256 of `value` under a purpose-specific key derived from SESSION_SECRET (hex). */
export function keyedHash(purpose: string, value: string) {
	return crypto.createHmac('sha256', `${getEnv().SESSION_SECRET}:${purpose}`).update(value).digest('hex')
}

/** A keyed hash of an IP address: audit and rate limits without storing the address. */
export function hashIp(ip: string | null | undefined) {
	return ip ? keyedHash('ip', ip).slice(0, 32) : null
}

/** Constant-time comparison of two hex/ASCII strings. */
export function safeEqual(a: string, b: string) {
	const left = Buffer.from(a)
	const right = Buffer.from(b)
	return left.length === right.length && crypto.timingSafeEqual(left, right)
}

function sealKey() {
	return crypto.createHash('sha256').update(`${getEnv().SESSION_SECRET}:seal`).digest()
}

/** Encrypts JSON with AES-256-GCM (for secrets that must sit in a job payload for a moment). */
export function seal(value: unknown): string {
	const iv = crypto.randomBytes(12)
	const cipher = crypto.createCipheriv('aes-256-gcm', sealKey(), iv)
	const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
	return [iv, cipher.getAuthTag(), body].map((part) => part.toString('base64url')).join('.')
}

/** Decrypts what `seal` produced; throws if it was tampered with. */
export function unseal<T>(sealed: string): T {
	const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'))
	if (!iv || !tag || !body) throw new Error('malformed sealed value')
	const decipher = crypto.createDecipheriv('aes-256-gcm', sealKey(), iv)
	decipher.setAuthTag(tag)
	return JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')) as T
}
