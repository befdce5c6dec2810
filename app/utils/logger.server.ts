import { getEnv } from './env.server.ts'

type Level = 'debug' | 'info' | 'warn' | 'error'
const order: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }
const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[^\s@"'<>]+/g

/** Replaces anything that looks like an email address: logs carry no PII. */
export function redact(value: string) {
	return value.replace(EMAIL, '[email]')
}

function write(level: Level, msg: string, fields: Record<string, unknown>) {
	if (order[level] < order[getEnv().LOG_LEVEL]) return
	const line = JSON.stringify({ time: new Date().toISOString(), level, msg: redact(msg), ...fields }, (_key, value) =>
		typeof value === 'string' ? redact(value) : value instanceof Error ? { name: value.name, message: redact(value.message) } : value,
	)
	;(level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${line}\n`)
}

/** Structured JSON logs, one line per event, emails redacted. */
export const log = {
	debug: (msg: string, fields: Record<string, unknown> = {}) => write('debug', msg, fields),
	info: (msg: string, fields: Record<string, unknown> = {}) => write('info', msg, fields),
	warn: (msg: string, fields: Record<string, unknown> = {}) => write('warn', msg, fields),
	error: (msg: string, fields: Record<string, unknown> = {}) => write('error', msg, fields),
}
