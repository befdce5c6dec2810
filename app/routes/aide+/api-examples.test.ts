import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createApiKey } from '#app/modules/api/keys.server.ts'
import { grant } from '#app/modules/credits/ledger.server.ts'
import {
	apiExamples,
	curlArguments,
	placeholdersOf,
	shellCommand,
	type ApiExample,
	type Placeholder,
} from '#app/modules/help/api-examples.ts'
import { privileged } from '#app/utils/db.server.ts'
import { reloadEnv } from '#app/utils/env.server.ts'
import { startReplicateFake, type ReplicateFake } from '#tests/fakes/replicate.ts'
import { startApiApp } from '#tests/utils/api-app.ts'
import { loggedInUser } from '#tests/utils/login.ts'
import { roomJpeg } from '#tests/utils/photos.ts'
import { until } from '#tests/utils/until.ts'
import { startWorker } from '#worker/start.ts'

// Every curl command of the « API : démarrage rapide » guide, run in the guide's order by the real
// curl program against the app over HTTP on 127.0.0.1 (server.ts's HTTP layer, Remix's handler,
// the real /api/v1 routes), the worker and the Replicate fake doing the rest. Ids read from one
// answer feed the next commands, as the guide tells the reader to do.

const run = promisify(execFile)
const CURL = '/usr/bin/curl'

let app: Awaited<ReturnType<typeof startApiApp>>
let fake: ReplicateFake
let worker: Awaited<ReturnType<typeof startWorker>>
let dir: string

beforeAll(async () => {
	fake = await startReplicateFake()
	app = await startApiApp()
	Object.assign(process.env, {
		REPLICATE_API_TOKEN: fake.token,
		REPLICATE_BASE_URL: fake.baseUrl,
		REPLICATE_WEBHOOK_SECRET: fake.webhookSecret,
	})
	reloadEnv()
	worker = await startWorker({ queues: ['photo-process', 'transformation-run', 'transformation-complete'] })
	dir = await fs.mkdtemp(path.join(os.tmpdir(), 'renzo-aide-api-'))
	// The reader's own photo, in the folder the commands run from.
	await fs.writeFile(path.join(dir, 'salon.jpg'), await roomJpeg(1600, 1200))
})

afterAll(async () => {
	await worker?.stop(5_000)
	await app?.close()
	await fake?.close()
	if (dir) await fs.rm(dir, { recursive: true, force: true })
})

type Answer = { status: number; headers: Record<string, string>; text: string; json: unknown }

let calls = 0
/** Runs curl with `args` (no shell) from the examples' folder; status, headers and body of the answer. */
async function curl(args: string[]): Promise<Answer> {
	const headerFile = path.join(dir, `headers-${++calls}.txt`)
	const { stdout } = await run(CURL, [...args, '--dump-header', headerFile, '--write-out', '\n%{http_code}'], {
		cwd: dir,
		encoding: 'utf8',
		maxBuffer: 16 * 1024 * 1024,
	})
	const cut = stdout.lastIndexOf('\n')
	const text = stdout.slice(0, cut)
	const headers: Record<string, string> = {}
	for (const line of (await fs.readFile(headerFile, 'utf8')).split(/\r?\n/)) {
		const at = line.indexOf(':')
		if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim()
	}
	let json: unknown = null
	if (text && headers['content-type']?.startsWith('application/json')) json = JSON.parse(text)
	return { status: Number(stdout.slice(cut + 1)), headers, text, json }
}

/** The value at a dotted path (`files.0.photo_id`). */
function at(value: unknown, dotted: string): unknown {
	return dotted
		.split('.')
		.reduce<unknown>((node, key) => (node === null || node === undefined ? undefined : (node as Record<string, unknown>)[key]), value)
}

/** Every field of the documented excerpt exists in the real answer, with the same JSON type. */
function expectShape(actual: unknown, sample: unknown, where: string) {
	if (sample === null || actual === null) return
	if (Array.isArray(sample)) {
		expect(Array.isArray(actual), `${where} is an array`).toBe(true)
		if (sample.length) {
			expect((actual as unknown[]).length, `${where} is not empty`).toBeGreaterThan(0)
			expectShape((actual as unknown[])[0], sample[0], `${where}.0`)
		}
		return
	}
	if (typeof sample === 'object') {
		expect(typeof actual, `${where} is an object`).toBe('object')
		for (const [key, value] of Object.entries(sample)) {
			expect(actual as object, `${where} has ${key}`).toHaveProperty([key])
			expectShape((actual as Record<string, unknown>)[key], value, `${where}.${key}`)
		}
		return
	}
	expect(typeof actual, `${where} type`).toBe(typeof sample)
}

/** The arguments a POSIX shell gives curl when the reader pastes the command as the page shows it. */
async function argumentsFromShell(shell: string, example: ApiExample, values: Partial<Record<Placeholder, string>>) {
	// `curl` and `uuidgen` replaced by shell functions: the command's own text, nothing sent.
	const script = `curl() { printf '%s\\0' "$@"; }\nuuidgen() { printf '%s\\n' "$UUID_FOR_TEST"; }\n${shellCommand(example)}`
	const env = { NODE_ENV: 'test' as const, PATH: process.env.PATH, ...values, UUID_FOR_TEST: values.IDEMPOTENCY_KEY ?? '' }
	const { stdout } = await run(shell, ['-c', script], { env, encoding: 'utf8' })
	return stdout.split('\0').slice(0, -1)
}

describe('« API : démarrage rapide »: the documented curl commands', () => {
	test('run in order against the app, answer what the guide says, and paste into a shell as shown', async () => {
		const agent = await loggedInUser()
		await grant(privileged(), { userId: agent.id, credits: 20, reason: 'admin_adjustment', idempotencyKey: `test:${agent.id}` })
		const key = await createApiKey(agent.id, 'Exemples du guide')
		const values: Partial<Record<Placeholder, string>> = { RENZO_URL: app.url, RENZO_API_KEY: key.secret }
		const reservations = () => privileged().creditLedger.count({ where: { userId: agent.id, reason: 'reservation' } })

		for (const example of apiExamples) {
			if (example.prepare) values[example.prepare.name] = crypto.randomUUID()
			// Every variable the command uses was set by the reader or by an earlier step.
			for (const name of placeholdersOf(example)) expect(values[name], `${example.id} uses $${name} before it is set`).toBeDefined()
			const args = curlArguments(example, values)
			for (const shell of ['/bin/sh', '/bin/bash'])
				expect(await argumentsFromShell(shell, example, values), `${example.id} in ${shell}`).toEqual(args)

			const answer = example.until
				? await until(
						example.id,
						() => curl(args),
						(a) => example.until!.values.includes(String(at(a.json, example.until!.path))),
					)
				: await curl(args)
			expect(answer.status, `${example.id}: ${answer.text}`).toBe(example.status)
			if (example.response) expectShape(answer.json, example.response, example.id)
			for (const [field, value] of Object.entries(example.expect ?? {}))
				expect(at(answer.json, field), `${example.id}: ${field}`).toEqual(value)
			for (const [name, field] of Object.entries(example.captures ?? {})) {
				const value = at(answer.json, field)
				expect(typeof value, `${example.id}: ${field}`).toBe('string')
				values[name as Placeholder] = value as string
			}

			if (example.file?.direction === 'download') {
				const image = await fs.readFile(path.join(dir, example.file.name))
				const metadata = await sharp(image).metadata()
				expect(metadata.format).toBe('jpeg')
				expect(metadata.width).toBeGreaterThan(0)
			}
			if (example.prepare?.name === 'IDEMPOTENCY_KEY') {
				// What the guide promises of a retried order: the first answer again, nothing reserved twice.
				const before = await reservations()
				const retry = await curl(args)
				expect(retry.status).toBe(example.status)
				expect(retry.headers['idempotent-replayed']).toBe('true')
				expect(retry.json).toEqual(answer.json)
				expect(await reservations()).toBe(before)
			}
		}

		// The whole path ran: one transformation, succeeded, its credits reserved once and captured once.
		const transformation = await privileged().transformation.findUniqueOrThrow({ where: { id: values.TRANSFORMATION_ID! } })
		expect(transformation).toMatchObject({
			userId: agent.id,
			status: 'succeeded',
			kind: 'virtual_staging',
			style: 'scandinavian',
			disclosureLabel: true,
		})
		const ledger = await privileged().creditLedger.findMany({
			where: { userId: agent.id, reference: `transformation:${transformation.id}` },
			select: { reason: true },
		})
		expect(ledger.map((row) => row.reason).sort()).toEqual(['capture', 'reservation'])
	})
})
