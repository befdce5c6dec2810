import { generateSecret, generateURI, verify } from 'otplib'
import { toString as qrToString } from 'qrcode'

/**
 * The authenticator-app codes (RFC 6238: SHA-1, 6 digits, 30 s, what every app expects) and
 * their QR code. The only module that talks to otplib and qrcode.
 */

const PERIOD_SECONDS = 30

/** A new random secret (20 bytes, Base32), to be sealed before it is stored. */
export function newTotpSecret() {
	return generateSecret()
}

/** The otpauth:// URI that authenticator apps read from the QR code. */
export function totpUri(secret: string, accountName: string) {
	return generateURI({ issuer: 'Renzo', label: accountName, secret })
}

/** The QR code of `uri` as an SVG data URL (an <img>: no inline style under our CSP). */
export async function qrCodeDataUrl(uri: string) {
	const svg = await qrToString(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' })
	return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
}

/**
 * The time step a 6-digit `code` belongs to, or null when it is wrong. One step of clock drift
 * either way is accepted; refusing a reused step is the caller's job (it must be atomic).
 */
export async function totpTimeStep(secret: string, code: string): Promise<number | null> {
	if (!/^\d{6}$/.test(code)) return null
	const result = await verify({ secret, token: code, epochTolerance: PERIOD_SECONDS })
	return result.valid && 'timeStep' in result ? result.timeStep : null
}
