import type { Payload, QueueName } from '#app/modules/queue/catalog.ts'
import { accountDelete } from './account-delete.ts'
import { dataExport } from './data-export.ts'
import { emailSend } from './email-send.ts'
import { gdprRetention } from './gdpr-retention.ts'
import { maintenancePurge } from './maintenance-purge.ts'
import { photoProcess } from './photo-process.ts'
import { projectDelete } from './project-delete.ts'
import { stripeEvent } from './stripe-event.ts'
import { transformationComplete } from './transformation-complete.ts'
import { transformationReconcile } from './transformation-reconcile.ts'
import { transformationRun } from './transformation-run.ts'
import { webhookDeliver } from './webhook-deliver.ts'

/** Every queue's handler; the type makes a queue without a handler a compile error. */
export const handlers: { [Q in QueueName]: (data: Payload<Q>) => Promise<void> } = {
	'email-send': emailSend,
	'photo-process': photoProcess,
	'project-delete': projectDelete,
	'transformation-run': transformationRun,
	'transformation-local': transformationRun,
	'transformation-complete': transformationComplete,
	'transformation-reconcile': transformationReconcile,
	'stripe-event': stripeEvent,
	'data-export': dataExport,
	'maintenance-purge': maintenancePurge,
	'account-delete': accountDelete,
	'gdpr-retention': gdprRetention,
	'webhook-deliver': webhookDeliver,
}
