// The fakes' safety rule (non-negotiable 6): they only ever connect to this machine.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** Whether a fake may connect to `url`: http(s) on 127.0.0.1, localhost or ::1; nothing else. */
export function isLoopbackUrl(url: string): boolean {
	let parsed: URL
	try {
		parsed = new URL(url)
	} catch {
		return false
	}
	return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && LOOPBACK_HOSTS.has(parsed.hostname)
}
