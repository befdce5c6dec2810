import { z } from 'zod'

/**
 * Every queue the worker serves: its payload schema (ids or sealed data only, never secrets in
 * clear) and its pg-boss options. Web and worker both read this file; a job name that is not
 * here cannot be sent.
 */
export const queues = {
	'email-send': {
		payload: z.object({ sealed: z.string().min(1) }),
		concurrency: 4,
		options: {
			retryLimit: 8,
			retryDelay: 5,
			retryBackoff: true,
			expireInSeconds: 60,
			// The sealed message holds a login code: do not keep it around once sent.
			deleteAfterSeconds: 3_600,
		},
	},
	'photo-process': {
		payload: z.object({ photoId: z.uuid() }),
		// Sharp and the HEIC decoder are memory-hungry: one photo at a time per worker.
		concurrency: 1,
		options: { retryLimit: 3, retryDelay: 10, retryBackoff: true, expireInSeconds: 300, deleteAfterSeconds: 86_400 },
	},
	'project-delete': {
		payload: z.object({ projectId: z.uuid(), userId: z.uuid() }),
		concurrency: 1,
		options: { retryLimit: 10, retryDelay: 30, retryBackoff: true, expireInSeconds: 600, deleteAfterSeconds: 86_400 },
	},
	'transformation-run': {
		payload: z.object({ transformationId: z.uuid() }),
		// Replicate calls only wait on the network (create, then the webhook): many at once.
		concurrency: 16,
		// Under load, 4 jobs per fetch and one statement to settle them (worker/start.ts): at 50 jobs/s
		// fetching and settling one job at a time was 4 of the ~18 statements of a transformation.
		// The price: a slot fetches again once its 4 jobs have all ended (a slow one holds 3 places).
		fetchBatch: 4,
		options: {
			// Our own attempts counter decides when a transient failure becomes final (run.server.ts).
			retryLimit: 6,
			retryDelay: 5,
			retryBackoff: true,
			retryDelayMax: 300,
			expireInSeconds: 600,
			// A worker killed mid-job hands the job back after ~this long (plus the 10 s monitor pass).
			heartbeatSeconds: 10,
			deleteAfterSeconds: 86_400,
		},
	},
	'transformation-local': {
		payload: z.object({ transformationId: z.uuid() }),
		// The local enhancement decodes whole photos (hundreds of MB for 24 MP): one at a time.
		concurrency: 1,
		options: {
			retryLimit: 6,
			retryDelay: 5,
			retryBackoff: true,
			retryDelayMax: 300,
			expireInSeconds: 600,
			heartbeatSeconds: 10,
			deleteAfterSeconds: 86_400,
		},
	},
	'transformation-complete': {
		// webhookId: the verified webhook (webhook_events) whose body says how the prediction ended.
		payload: z.object({ predictionId: z.string().min(1).max(100), webhookId: z.string().min(1).max(200).optional() }),
		// Downloads a ~1 MP result and makes two small variants: I/O-bound, memory-light.
		concurrency: 8,
		fetchBatch: 4,
		options: {
			retryLimit: 6,
			retryDelay: 5,
			retryBackoff: true,
			retryDelayMax: 300,
			expireInSeconds: 300,
			heartbeatSeconds: 10,
			deleteAfterSeconds: 86_400,
		},
	},
	'transformation-reconcile': {
		payload: z.object({}),
		concurrency: 1,
		options: { retryLimit: 1, retryDelay: 30, expireInSeconds: 300, deleteAfterSeconds: 3_600 },
	},
	'stripe-event': {
		payload: z.object({ eventId: z.string().regex(/^evt_[A-Za-z0-9]{1,100}$/) }),
		concurrency: 2,
		options: {
			retryLimit: 10,
			retryDelay: 10,
			retryBackoff: true,
			retryDelayMax: 3_600,
			expireInSeconds: 120,
			deleteAfterSeconds: 7 * 86_400,
		},
	},
	'data-export': {
		payload: z.object({ exportId: z.uuid() }),
		// Streams every original of the account through one ZIP: one export at a time per worker.
		concurrency: 1,
		options: { retryLimit: 4, retryDelay: 30, retryBackoff: true, expireInSeconds: 1_800, deleteAfterSeconds: 86_400 },
	},
	'maintenance-purge': {
		payload: z.object({}),
		concurrency: 1,
		options: { retryLimit: 2, retryDelay: 60, expireInSeconds: 300, deleteAfterSeconds: 86_400 },
	},
	'account-delete': {
		// `sweep`: the follow-up passes that remove what arrives after the erasure (decision 012).
		payload: z.object({
			userId: z.uuid(),
			stripeCustomerId: z
				.string()
				.regex(/^cus_[A-Za-z0-9]{1,100}$/)
				.optional(),
			sweep: z.boolean().optional(),
		}),
		concurrency: 1,
		options: {
			// Stripe or storage down: keep trying for about a day (the account stays locked meanwhile).
			retryLimit: 30,
			retryDelay: 60,
			retryBackoff: true,
			retryDelayMax: 3_600,
			expireInSeconds: 1_800,
			// The payload names the erased account: do not keep the finished job around.
			deleteAfterSeconds: 600,
		},
	},
	'gdpr-retention': {
		payload: z.object({}),
		concurrency: 1,
		options: { retryLimit: 3, retryDelay: 300, retryBackoff: true, expireInSeconds: 3_600, deleteAfterSeconds: 86_400 },
	},
	'webhook-deliver': {
		// `manual`: a resend or a test, one attempt that never counts towards disabling the endpoint.
		payload: z.object({ deliveryId: z.uuid(), manual: z.boolean().optional() }),
		// Each attempt only waits on the receiver (10 s at most).
		concurrency: 8,
		options: {
			// Retries at 1–2 min, 2–4, 4–8, 8–16, 16–32, 32–64 min, 1–2 h, 2–4 h, then every 4 h: the
			// 14th and last attempt (MAX_AUTO_ATTEMPTS, deliver.server.ts) comes 24–28 h after the first.
			// Two spare retries cover a worker killed mid-attempt (no attempt recorded).
			retryLimit: 15,
			retryDelay: 60,
			retryBackoff: true,
			retryDelayMax: 14_400,
			expireInSeconds: 60,
			deleteAfterSeconds: 7 * 86_400,
		},
	},
} as const

export type QueueName = keyof typeof queues
export type Payload<Q extends QueueName> = z.infer<(typeof queues)[Q]['payload']>
export const queueNames = Object.keys(queues) as QueueName[]

/** Recurring jobs (cron, UTC). */
export const schedules: { name: QueueName; cron: string }[] = [
	{ name: 'maintenance-purge', cron: '17 * * * *' },
	// Predictions whose webhook never came, and transformations past their timeout.
	{ name: 'transformation-reconcile', cron: '* * * * *' },
	// Originals of long-archived projects and expired export archives (decision 012).
	{ name: 'gdpr-retention', cron: '43 3 * * *' },
]
