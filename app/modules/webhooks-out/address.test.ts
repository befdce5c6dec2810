import net from 'node:net'
import { describe, expect, test } from 'vitest'
import { parseEnv } from '#app/utils/env.server.ts'
import {
	AddressRefusedError,
	checkEndpointUrl,
	chooseAddress,
	classifyAddress,
	isAllowedAddress,
	resolveTarget,
	type AddressKind,
	type Resolver,
} from './address.server.ts'
import { postSigned } from './send.server.ts'

// The SSRF guard. The decision functions are pure: these addresses are only classified, never
// contacted. The two tests that open a connection do so to a server of ours on 127.0.0.1.

const production = { allowLoopback: false }
const tests = { allowLoopback: true }

const refused: [string, AddressKind][] = [
	['127.0.0.1', 'loopback'],
	['127.255.255.254', 'loopback'],
	['10.0.0.1', 'private'],
	['10.255.255.255', 'private'],
	['172.16.0.1', 'private'],
	['172.31.255.255', 'private'],
	['192.168.0.1', 'private'],
	['192.168.255.255', 'private'],
	['169.254.169.254', 'metadata'],
	['169.254.1.1', 'link_local'],
	['100.64.0.1', 'cgnat'],
	['100.127.255.254', 'cgnat'],
	['100.100.100.200', 'metadata'],
	['0.0.0.0', 'unspecified'],
	['0.1.2.3', 'unspecified'],
	['224.0.0.251', 'multicast'],
	['239.255.255.250', 'multicast'],
	['255.255.255.255', 'reserved'],
	['192.0.0.192', 'reserved'],
	['198.18.0.1', 'reserved'],
	['::1', 'loopback'],
	['::', 'unspecified'],
	['fc00::1', 'private'],
	['fd12:3456:789a::1', 'private'],
	['fdaa:0:1::3', 'private'],
	['fe80::1', 'link_local'],
	['fe80::1%eth0', 'link_local'],
	['febf:ffff::1', 'link_local'],
	['fec0::1', 'private'],
	['ff02::1', 'multicast'],
	['fd00:ec2::254', 'metadata'],
	['::ffff:127.0.0.1', 'loopback'],
	['::ffff:7f00:1', 'loopback'],
	['::ffff:10.1.2.3', 'private'],
	['::ffff:169.254.169.254', 'metadata'],
	['::ffff:0:192.168.1.1', 'private'],
	['::127.0.0.1', 'loopback'],
	['64:ff9b::7f00:1', 'loopback'],
	['64:ff9b::a9fe:a9fe', 'metadata'],
	['64:ff9b:1::1', 'private'],
	['2001:db8::1', 'reserved'],
	['2001::1', 'reserved'],
	['2002:7f00:1::1', 'reserved'],
	['100::1', 'reserved'],
	['not-an-ip', 'invalid'],
	['1.2.3', 'invalid'],
]

const allowed = [
	'8.8.8.8',
	'1.1.1.1',
	'172.32.0.1',
	'100.128.0.1',
	'169.255.0.1',
	'2a00:1450:4007:80e::200e',
	'2606:4700:4700::1111',
	'::ffff:8.8.8.8',
]

describe('address decision (pure)', () => {
	test.each(refused)('%s is %s and refused in production', (address, kind) => {
		expect(classifyAddress(address)).toBe(kind)
		expect(isAllowedAddress(address, production)).toBe(false)
	})

	test.each(allowed)('%s is public and allowed', (address) => {
		expect(classifyAddress(address)).toBe('public')
		expect(isAllowedAddress(address, production)).toBe(true)
	})

	test('the test-only loopback exception allows 127.0.0.1 and nothing else', () => {
		expect(isAllowedAddress('127.0.0.1', tests)).toBe(true)
		for (const address of ['127.0.0.2', '::1', '::ffff:127.0.0.1', '10.0.0.1', '169.254.169.254', '0.0.0.0'])
			expect(isAllowedAddress(address, tests), address).toBe(false)
	})

	test('a name is refused when ANY of its addresses is refused', () => {
		expect(chooseAddress([{ address: '93.184.216.34', family: 4 }], production)).toEqual({
			ok: true,
			target: { address: '93.184.216.34', family: 4 },
		})
		expect(
			chooseAddress(
				[
					{ address: '93.184.216.34', family: 4 },
					{ address: '10.0.0.7', family: 4 },
				],
				production,
			),
		).toEqual({ ok: false, kind: 'private', address: '10.0.0.7' })
		expect(chooseAddress([], production)).toEqual({ ok: false, kind: 'no_address' })
	})

	test('a DNS name resolving to loopback is refused in production; it is resolved once, and IP literals not at all', async () => {
		const asked: string[] = []
		const toLoopback: Resolver = async (hostname) => {
			asked.push(hostname)
			return [{ address: '127.0.0.1', family: 4 }]
		}
		const error = await resolveTarget('hooks.agence-exemple.fr', production, toLoopback).catch((e: unknown) => e)
		expect(error).toBeInstanceOf(AddressRefusedError)
		expect(error).toMatchObject({ kind: 'loopback', address: '127.0.0.1' })
		expect(asked).toEqual(['hooks.agence-exemple.fr'])
		const rebinding: Resolver = async () => [{ address: '::ffff:169.254.169.254', family: 6 }]
		await expect(resolveTarget('metadata.agence-exemple.fr', production, rebinding)).rejects.toMatchObject({ kind: 'metadata' })
		const never: Resolver = async () => {
			throw new Error('an IP literal must not be looked up')
		}
		await expect(resolveTarget('[::1]', production, never)).rejects.toMatchObject({ kind: 'loopback' })
		await expect(resolveTarget('8.8.8.8', production, never)).resolves.toEqual({ address: '8.8.8.8', family: 4 })
	})
})

test('the loopback exception cannot be switched on in production', () => {
	const production = {
		NODE_ENV: 'production',
		DATABASE_URL: 'postgresql://renzo@db.internal/renzo',
		SESSION_SECRET: 'x'.repeat(40),
		APP_URL: 'https://app.renzo.fr',
		SMTP_URL: 'smtp://mail.renzo.fr',
	}
	const problems = (source: Record<string, string>) => {
		try {
			parseEnv(source)
			return ''
		} catch (error) {
			return String(error)
		}
	}
	expect(problems({ ...production, WEBHOOKS_ALLOW_LOOPBACK: 'true' })).toContain('WEBHOOKS_ALLOW_LOOPBACK')
	expect(problems(production)).not.toContain('WEBHOOKS_ALLOW_LOOPBACK')
	expect(parseEnv({ NODE_ENV: 'test' }).WEBHOOKS_ALLOW_LOOPBACK).toBe(false)
})

describe('endpoint URL rules (pure)', () => {
	test.each([
		['http://hooks.agence-exemple.fr/renzo', 'https_required'],
		['ftp://hooks.agence-exemple.fr/', 'invalid'],
		['pas une adresse', 'invalid'],
		['https://user:motdepasse@hooks.agence-exemple.fr/', 'credentials'],
		['https://hooks.agence-exemple.fr:22/', 'port'],
		['https://hooks.agence-exemple.fr:80/', 'port'],
		['https://127.0.0.1/', 'private_address'],
		['https://2130706433/', 'private_address'],
		['https://0x7f.1/', 'private_address'],
		['https://[::1]/', 'private_address'],
		['https://[::ffff:127.0.0.1]/', 'private_address'],
		['https://169.254.169.254/latest/meta-data/', 'private_address'],
		['https://10.0.0.5/', 'private_address'],
		['https://localhost/', 'local_name'],
		['https://api.localhost/', 'local_name'],
		['https://nas.local/', 'local_name'],
		['https://metadata.google.internal/', 'local_name'],
		['https://intranet/', 'local_name'],
		[`https://hooks.agence-exemple.fr/${'a'.repeat(2000)}`, 'too_long'],
		// Allowed in tests only, and never in https form for another loopback address.
		['http://127.0.0.1:4000/hooks', 'https_required'],
	])('%s → %s', (url, problem) => {
		expect(checkEndpointUrl(url, production)).toEqual({ ok: false, problem })
	})

	test('public https URLs pass (port 443 or ≥ 1024), the fragment dropped; http://127.0.0.1 only with the test exception', () => {
		expect(checkEndpointUrl(' https://hooks.agence-exemple.fr/renzo?canal=1#x ', production)).toEqual({
			ok: true,
			url: 'https://hooks.agence-exemple.fr/renzo?canal=1',
		})
		expect(checkEndpointUrl('https://hooks.agence-exemple.fr:8443/r', production)).toMatchObject({ ok: true })
		expect(checkEndpointUrl('https://93.184.216.34/r', production)).toMatchObject({ ok: true })
		expect(checkEndpointUrl('http://127.0.0.1:4000/hooks', tests)).toEqual({ ok: true, url: 'http://127.0.0.1:4000/hooks' })
		expect(checkEndpointUrl('http://localhost:4000/hooks', tests)).toMatchObject({ ok: false })
		expect(checkEndpointUrl('http://10.0.0.1:4000/hooks', tests)).toMatchObject({ ok: false })
	})
})

/** A TCP server on 127.0.0.1 that records what each connection sends first (a TLS ClientHello here). */
async function tcpRecorder() {
	const firstBytes: Buffer[] = []
	const server = net.createServer((socket) => {
		socket.once('data', (chunk) => {
			firstBytes.push(chunk)
			socket.destroy()
		})
	})
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	return {
		port: (server.address() as net.AddressInfo).port,
		firstBytes,
		close: () => new Promise((resolve) => server.close(resolve)),
	}
}

describe('the delivery applies the guard before connecting, and pins the checked address', () => {
	test('production: a name resolving to 127.0.0.1 is refused and nothing connects', async () => {
		const recorder = await tcpRecorder()
		let lookups = 0
		const toLoopback: Resolver = async () => {
			lookups++
			return [{ address: '127.0.0.1', family: 4 }]
		}
		try {
			const result = await postSigned({
				url: `https://hooks.agence-exemple.fr:${recorder.port}/renzo`,
				secret: 'whsec_test',
				eventId: 'evt',
				body: '{}',
				policy: production,
				resolve: toLoopback,
			})
			expect(result).toMatchObject({ ok: false, statusCode: null, error: 'address_refused' })
			expect(lookups).toBe(1)
			expect(recorder.firstBytes).toHaveLength(0)
		} finally {
			await recorder.close()
		}
	})

	test('the connection goes to the resolved, checked address (no second lookup), with the original name for TLS', async () => {
		const recorder = await tcpRecorder()
		const asked: string[] = []
		const resolver: Resolver = async (hostname) => {
			asked.push(hostname)
			return [{ address: '127.0.0.1', family: 4 }]
		}
		try {
			// Test policy: 127.0.0.1 is allowed, so the request goes out, to the pinned address only
			// (`hooks.agence-exemple.fr` resolves nowhere else: a second lookup would fail or go astray).
			const result = await postSigned({
				url: `https://hooks.agence-exemple.fr:${recorder.port}/renzo`,
				secret: 'whsec_test',
				eventId: 'evt',
				body: '{}',
				policy: tests,
				resolve: resolver,
			})
			expect(result.ok).toBe(false)
			expect(asked).toEqual(['hooks.agence-exemple.fr'])
			expect(recorder.firstBytes).toHaveLength(1)
			// The TLS ClientHello carries the name (SNI) the certificate will be checked against.
			expect(recorder.firstBytes[0]!.includes(Buffer.from('hooks.agence-exemple.fr'))).toBe(true)
		} finally {
			await recorder.close()
		}
	})
})
