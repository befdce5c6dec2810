import dns from 'node:dns/promises'
import net from 'node:net'

/**
 * The SSRF guard of outgoing webhooks. A user chooses the URL we POST to: without this guard
 * they could make our server call its own loopback, the private network, or the cloud metadata
 * service. The decision functions below are pure (no I/O, testable with any address); the
 * delivery resolves the hostname once, checks EVERY address with them, and connects to the
 * checked address only (send.server.ts pins it), so DNS rebinding cannot swap it afterwards.
 */

/** What an IP address is, as far as the guard cares. Only `public` is ever called in production. */
export type AddressKind =
	'public' | 'loopback' | 'private' | 'link_local' | 'metadata' | 'cgnat' | 'multicast' | 'unspecified' | 'reserved' | 'invalid'

/** Whether loopback receivers are allowed (WEBHOOKS_ALLOW_LOOPBACK: tests and development only). */
export type AddressPolicy = { allowLoopback: boolean }

/** The single address the loopback exception allows. */
export const LOOPBACK_RECEIVER = '127.0.0.1'

type Range4 = [base: number, prefix: number, kind: AddressKind]

const ip4 = (text: string) => text.split('.').reduce((n, part) => n * 256 + Number(part), 0)

// Most specific first: the first range that contains the address decides.
const IPV4_RANGES: Range4[] = [
	[ip4('169.254.169.254'), 32, 'metadata'], // AWS, GCP, Azure, OpenStack… instance metadata
	[ip4('168.63.129.16'), 32, 'metadata'], // Azure host services
	[ip4('100.100.100.200'), 32, 'metadata'], // Alibaba Cloud
	[ip4('0.0.0.0'), 8, 'unspecified'], // "this network"
	[ip4('10.0.0.0'), 8, 'private'],
	[ip4('100.64.0.0'), 10, 'cgnat'],
	[ip4('127.0.0.0'), 8, 'loopback'],
	[ip4('169.254.0.0'), 16, 'link_local'],
	[ip4('172.16.0.0'), 12, 'private'],
	[ip4('192.0.0.0'), 24, 'reserved'], // IETF protocol assignments (incl. 192.0.0.192, Oracle metadata)
	[ip4('192.0.2.0'), 24, 'reserved'], // documentation
	[ip4('192.88.99.0'), 24, 'reserved'], // 6to4 relay anycast
	[ip4('192.168.0.0'), 16, 'private'],
	[ip4('198.18.0.0'), 15, 'reserved'], // benchmarking
	[ip4('198.51.100.0'), 24, 'reserved'], // documentation
	[ip4('203.0.113.0'), 24, 'reserved'], // documentation
	[ip4('224.0.0.0'), 4, 'multicast'],
	[ip4('240.0.0.0'), 4, 'reserved'], // future use, and 255.255.255.255 broadcast
]

function inRange4(address: number, base: number, prefix: number) {
	if (prefix === 0) return true
	const size = 2 ** (32 - prefix)
	return Math.floor(address / size) === Math.floor(base / size)
}

function kindOf4(address: number): AddressKind {
	for (const [base, prefix, kind] of IPV4_RANGES) if (inRange4(address, base, prefix)) return kind
	return 'public'
}

/** An IPv6 address as its 8 16-bit groups (zone id dropped, embedded dotted IPv4 expanded). */
function groups6(text: string): number[] | null {
	const address = text.split('%')[0]!
	if (!net.isIPv6(address)) return null
	let head = address
	const tail: number[] = []
	const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)
	if (dotted) {
		const v4 = ip4(dotted[1]!)
		tail.push(Math.floor(v4 / 65536), v4 % 65536)
		head = address.slice(0, -dotted[1]!.length)
		// "::ffff:" → "::ffff", "::" stays "::"
		if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1)
	}
	const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
	let groups: number[]
	if (head.includes('::')) {
		const [left, right] = head.split('::') as [string, string]
		const l = parse(left)
		const r = [...parse(right), ...tail]
		groups = [...l, ...Array<number>(8 - l.length - r.length).fill(0), ...r]
	} else groups = [...parse(head), ...tail]
	return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null
}

function kindOf6(g: number[]): AddressKind {
	const embedded4 = () => kindOf4(g[6]! * 65536 + g[7]!)
	const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0)
	if (zeroUpTo(8)) return 'unspecified'
	if (zeroUpTo(7) && g[7] === 1) return 'loopback'
	// IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d),
	// NAT64 (64:ff9b::a.b.c.d): judged by the IPv4 address they lead to.
	if (zeroUpTo(5) && g[5] === 0xffff) return embedded4()
	if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return embedded4()
	if (zeroUpTo(6)) return embedded4()
	if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0) return embedded4()
	if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'private' // local-use NAT64
	if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254) return 'metadata' // AWS IMDS over IPv6
	if ((g[0]! & 0xfe00) === 0xfc00) return 'private' // unique local fc00::/7
	if ((g[0]! & 0xffc0) === 0xfe80) return 'link_local' // fe80::/10
	if ((g[0]! & 0xffc0) === 0xfec0) return 'private' // site-local fec0::/10 (deprecated)
	if ((g[0]! & 0xff00) === 0xff00) return 'multicast' // ff00::/8
	// Only global unicast (2000::/3) is public, minus its special-purpose blocks.
	if ((g[0]! & 0xe000) !== 0x2000) return 'reserved'
	if (g[0] === 0x2001 && g[1]! < 0x0200) return 'reserved' // 2001::/23 IETF (Teredo, benchmarking, ORCHID…)
	if (g[0] === 0x2001 && g[1] === 0x0db8) return 'reserved' // documentation
	if (g[0] === 0x2002) return 'reserved' // 6to4: leads to an arbitrary IPv4 address
	if ((g[0]! & 0xfff0) === 0x3ff0) return 'reserved' // 3fff::/20 documentation
	return 'public'
}

/** Classifies an IP address (v4 or v6, IPv4-mapped forms judged by their IPv4). Pure. */
export function classifyAddress(address: string): AddressKind {
	if (net.isIPv4(address)) return kindOf4(ip4(address))
	const groups = groups6(address)
	return groups ? kindOf6(groups) : 'invalid'
}

/** Whether the guard lets a webhook connect to `address` under `policy`. Pure. */
export function isAllowedAddress(address: string, policy: AddressPolicy): boolean {
	if (policy.allowLoopback && address === LOOPBACK_RECEIVER) return true
	return classifyAddress(address) === 'public'
}

export type ResolvedAddress = { address: string; family: number }
export type AddressDecision = { ok: true; target: ResolvedAddress } | { ok: false; kind: AddressKind | 'no_address'; address?: string }

/**
 * The decision over a hostname's resolved addresses (pure): refused if ANY of them is refused
 * (a name with one public and one private record must not reach the private one), otherwise
 * the first one, which the connection is then pinned to.
 */
export function chooseAddress(addresses: ResolvedAddress[], policy: AddressPolicy): AddressDecision {
	if (addresses.length === 0) return { ok: false, kind: 'no_address' }
	for (const { address } of addresses) if (!isAllowedAddress(address, policy)) return { ok: false, kind: classifyAddress(address), address }
	return { ok: true, target: addresses[0]! }
}

/** Resolves a hostname to every address it has (injected in tests: no lookup, no connection). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address, in its order. */
export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true })

/** Why the guard refused to call a URL (the attempt's error code, the form's message). */
export class AddressRefusedError extends Error {
	override name = 'AddressRefusedError'
	constructor(
		readonly kind: AddressKind | 'no_address',
		readonly address?: string,
	) {
		super(`webhook address refused (${kind})`)
	}
}

/** A URL hostname without the brackets of an IPv6 literal. */
export function bareHostname(hostname: string) {
	return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}

/**
 * Resolves `hostname` ONCE and returns the checked address to connect to, or throws
 * AddressRefusedError. An IP literal is checked as is (no lookup).
 */
export async function resolveTarget(hostname: string, policy: AddressPolicy, resolve: Resolver = systemResolver): Promise<ResolvedAddress> {
	const host = bareHostname(hostname)
	const family = net.isIP(host)
	const addresses = family ? [{ address: host, family }] : await resolve(host)
	const decision = chooseAddress(addresses, policy)
	if (!decision.ok) throw new AddressRefusedError(decision.kind, decision.address)
	return decision.target
}

/** Why an endpoint URL is refused at registration (and again at delivery). */
export type UrlProblem = 'invalid' | 'too_long' | 'https_required' | 'credentials' | 'port' | 'private_address' | 'local_name'

export const MAX_URL_LENGTH = 2000

/**
 * Checks an endpoint URL without any network access (pure): https (http only for the loopback
 * receiver when the policy allows it), no user:password, port 443 or ≥ 1024, no IP literal
 * the guard refuses, no name that can only be local. Returns the URL without its fragment.
 */
export function checkEndpointUrl(raw: string, policy: AddressPolicy): { ok: true; url: string } | { ok: false; problem: UrlProblem } {
	const text = raw.trim()
	if (text.length > MAX_URL_LENGTH) return { ok: false, problem: 'too_long' }
	let url: URL
	try {
		url = new URL(text)
	} catch {
		return { ok: false, problem: 'invalid' }
	}
	// The WHATWG parser already normalised 2130706433, 0x7f.1 and friends to 127.0.0.1.
	const host = bareHostname(url.hostname).replace(/\.$/, '').toLowerCase()
	const loopbackReceiver = policy.allowLoopback && host === LOOPBACK_RECEIVER
	if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackReceiver))
		return { ok: false, problem: url.protocol === 'http:' ? 'https_required' : 'invalid' }
	if (url.username || url.password) return { ok: false, problem: 'credentials' }
	if (!host) return { ok: false, problem: 'invalid' }
	if (url.port && !loopbackReceiver) {
		const port = Number(url.port)
		if (port !== 443 && port < 1024) return { ok: false, problem: 'port' }
	}
	if (net.isIP(host)) {
		if (!isAllowedAddress(host, policy)) return { ok: false, problem: 'private_address' }
	} else if (!host.includes('.') || /(^|\.)(localhost|local|internal|lan|home\.arpa|localdomain)$/.test(host)) {
		return { ok: false, problem: 'local_name' }
	}
	url.hash = ''
	return { ok: true, url: url.toString() }
}
