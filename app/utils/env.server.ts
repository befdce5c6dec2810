import { z } from 'zod'

/**
 * Every setting the app reads, validated once at boot by web and worker. Each part has an
 * embedded default (SPEC "Embedded defaults"); setting one variable switches it to production.
 */
const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.url().optional())
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional())
const intFrom = (fallback: number, min = 0) =>
	z.preprocess((v) => (v === '' || v === undefined ? fallback : Number(v)), z.number().int().min(min))
const bool = (fallback: boolean) =>
	z.preprocess((v) => (v === '' || v === undefined ? fallback : ['1', 'true', 'yes', 'on'].includes(String(v).toLowerCase())), z.boolean())

const schema = z
	.object({
		NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
		PORT: intFrom(3000),
		HOST: z.string().default('127.0.0.1'),
		APP_URL: optionalUrl,
		/** Behind Fly or Caddy: take the client address from Fly-Client-IP / X-Forwarded-For. */
		TRUST_PROXY: bool(false),
		LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),

		/** Privileged connection: migrations, worker, webhooks, admin. Unset → embedded Postgres. */
		DATABASE_URL: optionalUrl,
		/** Application connection (a role subject to RLS). Unset → derived, see decision 003. */
		DATABASE_APP_URL: optionalUrl,

		SESSION_SECRET: optionalString,
		WELCOME_CREDITS: intFrom(5),
		LOGIN_CODE_TTL_MINUTES: intFrom(15, 1),
		LOGIN_MAX_ATTEMPTS: intFrom(5, 1),
		LOGIN_EMAILS_PER_ADDRESS_PER_HOUR: intFrom(5, 1),
		LOGIN_EMAILS_PER_IP_PER_HOUR: intFrom(20, 1),
		SESSION_TTL_DAYS: intFrom(30, 1),
		/** Admin accounts must set up two-factor authentication before using the app. */
		REQUIRE_2FA_FOR_ADMINS: bool(false),
		/** Rate limits (app/modules/security/rate-limit.server.ts): upload requests (one file each from the page) per user per hour. */
		UPLOADS_PER_USER_PER_HOUR: intFrom(300, 1),
		/** Transformation orders (one form submission, any number of photos) per user per hour. */
		ORDERS_PER_USER_PER_HOUR: intFrom(60, 1),
		/** GDPR data exports per user per 24 hours. */
		EXPORTS_PER_USER_PER_DAY: intFrom(3, 1),
		/** Incoming webhook calls (Stripe, Replicate) per source IP per minute. */
		WEBHOOKS_PER_IP_PER_MINUTE: intFrom(6_000, 1),

		SMTP_URL: optionalUrl,
		MAIL_FROM: z.string().default('Renzo <bonjour@renzo.localhost>'),

		/** Local storage folder (used when S3_BUCKET is unset). */
		STORAGE_DIR: z.string().default('.data/storage'),
		/** S3-compatible storage (Backblaze B2): setting S3_BUCKET switches storage to S3. */
		S3_BUCKET: optionalString,
		S3_ENDPOINT: optionalUrl,
		S3_REGION: z.string().default('us-east-1'),
		S3_ACCESS_KEY_ID: optionalString,
		S3_SECRET_ACCESS_KEY: optionalString,
		S3_FORCE_PATH_STYLE: bool(false),
		/** Lifetime of the signed URLs that deliver images to browsers. */
		SIGNED_URL_TTL_SECONDS: intFrom(900, 30),
		UPLOAD_MAX_BYTES: intFrom(50 * 1024 * 1024, 1),
		/** Originals of projects archived longer than this are deleted (thumbnails, previews and results stay). */
		RETENTION_ARCHIVED_ORIGINALS_DAYS: intFrom(365, 1),
		/** How long a GDPR export archive can be downloaded before it is deleted. */
		EXPORT_RETENTION_HOURS: intFrom(24, 1),
		/** Per-user storage quota for originals (default 20 GiB). */
		STORAGE_QUOTA_BYTES: intFrom(20 * 1024 * 1024 * 1024, 1),
		/** Decoding refuses images above this many pixels (decompression bombs). */
		IMAGE_MAX_PIXELS: intFrom(100_000_000, 1),

		/** Replicate (AI transformations). Unset → only the local enhancement runs; AI kinds are shown disabled. */
		REPLICATE_API_TOKEN: optionalString,
		REPLICATE_BASE_URL: z.url().default('https://api.replicate.com/v1'),
		/** Webhook signing secret (whsec_…); unset → read once from Replicate's API. */
		REPLICATE_WEBHOOK_SECRET: optionalString,
		/** JSON overriding models and credit costs per kind, e.g. {"day_to_dusk":{"credits":{"standard":2,"hd":3}}}. */
		TRANSFORMATIONS_CONFIG: optionalString,
		/** A transformation still running after this long is cancelled at the provider and refunded. */
		TRANSFORMATION_TIMEOUT_MINUTES: intFrom(30, 1),
		/** Without a webhook after this long, the reconcile job asks the provider. */
		TRANSFORMATION_RECONCILE_AFTER_SECONDS: intFrom(120, 1),
		/** Predictions started and not finished, all users together: a new one waits (up to 30 s) while there are this many. */
		TRANSFORMATION_MAX_IN_FLIGHT: intFrom(200, 1),

		/** Stripe (payments). Both unset → billing pages say payments are not configured. */
		STRIPE_SECRET_KEY: optionalString,
		STRIPE_WEBHOOK_SECRET: optionalString,
		/** Stripe API origin (tests and local fakes only, e.g. http://127.0.0.1:12111). */
		STRIPE_API_URL: z.url().default('https://api.stripe.com'),
		/** Stripe Tax computes VAT at checkout (needs Stripe Tax enabled on the account). */
		STRIPE_AUTOMATIC_TAX: bool(true),
		/** JSON of the credit packs and monthly plans on sale (see app/modules/billing/offer.server.ts). */
		BILLING_OFFER: optionalString,

		/** Public API: requests per minute allowed for each API key (429 beyond, decision 013). */
		API_RATE_LIMIT_PER_MINUTE: intFrom(300, 1),

		/** Web process forks the worker unless this is false (e.g. when run as two services). */
		RUN_WORKER: bool(true),
		/** On SIGTERM, running jobs get this long to finish; unfinished ones go back to the queue (keep under Fly's kill_timeout). */
		WORKER_SHUTDOWN_GRACE_SECONDS: intFrom(20, 1),
		SENTRY_DSN: optionalUrl,

		/** Outgoing webhooks: an order that takes the balance below this many credits sends `credits.low`. */
		CREDITS_LOW_THRESHOLD: intFrom(5),
		/** Outgoing webhooks may target http://127.0.0.1 (local receivers: tests, development). Refused in production. */
		WEBHOOKS_ALLOW_LOOPBACK: bool(false),
		/** An endpoint is disabled when this many deliveries in a row exhausted their retries… */
		WEBHOOKS_DISABLE_AFTER_FAILURES: intFrom(5, 1),
		/** …or when a delivery fails and the endpoint has not answered 2xx for this many hours. */
		WEBHOOKS_DISABLE_AFTER_HOURS: intFrom(24, 1),
	})
	.superRefine((env, ctx) => {
		if (env.NODE_ENV !== 'production') return
		if (!env.DATABASE_URL)
			ctx.addIssue({
				code: 'custom',
				path: ['DATABASE_URL'],
				message: 'required in production (the embedded Postgres is for development only)',
			})
		if (!env.SESSION_SECRET || env.SESSION_SECRET.length < 32)
			ctx.addIssue({
				code: 'custom',
				path: ['SESSION_SECRET'],
				message: 'required in production, at least 32 characters (openssl rand -hex 32)',
			})
		if (!env.APP_URL)
			ctx.addIssue({ code: 'custom', path: ['APP_URL'], message: 'required in production (public https URL, used in emails)' })
		if (!env.SMTP_URL) ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: 'required in production (login emails)' })
		if (env.WEBHOOKS_ALLOW_LOOPBACK)
			ctx.addIssue({
				code: 'custom',
				path: ['WEBHOOKS_ALLOW_LOOPBACK'],
				message: 'must be off in production (webhooks never call loopback addresses there)',
			})
	})

export type Env = z.infer<typeof schema> & { SESSION_SECRET: string; APP_URL: string }

/** A readable message that names every bad variable, thrown by `parseEnv`. */
export class EnvError extends Error {}

/** Parses `source` (default process.env); throws EnvError naming each invalid variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
	const result = schema.safeParse(source)
	if (!result.success) {
		const lines = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`)
		throw new EnvError(`Invalid configuration:\n${lines.join('\n')}`)
	}
	const env = result.data
	return {
		...env,
		// Development only (production requires a real one above): stable across restarts.
		SESSION_SECRET: env.SESSION_SECRET ?? 'dev-only-session-secret-not-for-production-use',
		APP_URL: env.APP_URL ?? `http://localhost:${env.PORT}`,
	}
}

let cached: Env | undefined

/** The validated configuration of this process (parsed on first use). */
export function getEnv(): Env {
	cached ??= parseEnv()
	return cached
}

/** Re-reads process.env (a test file that starts its own servers sets their URLs, then reloads). */
export function reloadEnv(): Env {
	cached = undefined
	return getEnv()
}

/** The variables the browser may see (nothing secret). */
export function getPublicEnv() {
	const env = getEnv()
	return { NODE_ENV: env.NODE_ENV }
}
