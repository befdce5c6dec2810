import { Form } from '@remix-run/react'
import type { MessageKey } from '#app/modules/i18n/catalog.ts'
import { useLocale, useT } from '#app/modules/i18n/use-t.ts'
import { formatDateTime } from '#app/utils/format.ts'
import { CsrfInput } from './csrf-input.tsx'

type Attempt = {
	number: number
	trigger: string
	statusCode: number | null
	durationMs: number
	error: string | null
	createdAt: string | Date
}
export type DeliveryRow = {
	id: string
	status: 'pending' | 'succeeded' | 'failed'
	attempts: number
	createdAt: string | Date
	event: { id: string; type: string }
	attemptLog: Attempt[]
}

const pill = { pending: 'pill-t-processing', succeeded: 'pill-t-succeeded', failed: 'pill-t-failed' } as const

/** What an attempt got: an HTTP status, or why there was none. */
function useResult() {
	const t = useT()
	return (attempt: Attempt) => {
		if (attempt.statusCode !== null)
			return t(attempt.statusCode >= 300 && attempt.statusCode < 400 ? 'webhooks.result.redirect' : 'webhooks.result.http', {
				code: attempt.statusCode,
			})
		return attempt.error ? t(`webhooks.result.${attempt.error}` as MessageKey) : '—'
	}
}

/** The delivery log of one endpoint: each notification, its attempts, and a « Renvoyer » button. */
export function WebhookDeliveryLog({ deliveries }: { deliveries: DeliveryRow[] }) {
	const t = useT()
	const locale = useLocale()
	const result = useResult()
	if (deliveries.length === 0) return <p className="muted">{t('webhooks.log.empty')}</p>
	return (
		<table className="responsive">
			<thead>
				<tr>
					<th scope="col">{t('webhooks.log.date')}</th>
					<th scope="col">{t('webhooks.log.event')}</th>
					<th scope="col">{t('webhooks.log.status')}</th>
					<th scope="col">{t('webhooks.log.attempts')}</th>
					<th scope="col">{t('webhooks.log.actions')}</th>
				</tr>
			</thead>
			<tbody>
				{deliveries.map((delivery) => (
					<tr key={delivery.id}>
						<td data-label={t('webhooks.log.date')}>{formatDateTime(delivery.createdAt, locale)}</td>
						<td data-label={t('webhooks.log.event')}>
							<code>{delivery.event.type}</code>
							<br />
							<small className="muted">{delivery.event.id}</small>
						</td>
						<td data-label={t('webhooks.log.status')}>
							<span className={`pill ${pill[delivery.status]}`}>{t(`webhooks.delivery.${delivery.status}`)}</span>
						</td>
						<td data-label={t('webhooks.log.attempts')}>
							{delivery.attemptLog.length === 0 ? (
								delivery.attempts
							) : (
								<details>
									<summary>
										{delivery.attempts} — {result(delivery.attemptLog[0]!)}
									</summary>
									<ol className="list" reversed>
										{delivery.attemptLog.map((attempt) => (
											<li key={attempt.number}>
												{t('webhooks.log.attempt', {
													number: attempt.number,
													date: formatDateTime(attempt.createdAt, locale),
													result: result(attempt),
													ms: attempt.durationMs,
												})}{' '}
												{attempt.trigger === 'manual' ? t('webhooks.log.manual') : null}
											</li>
										))}
									</ol>
								</details>
							)}
						</td>
						<td data-label={t('webhooks.log.actions')}>
							<Form method="post" className="inline-form">
								<CsrfInput />
								<input type="hidden" name="deliveryId" value={delivery.id} />
								<button
									type="submit"
									name="intent"
									value="resend"
									className="secondary"
									aria-label={t('webhooks.log.resendLabel', { id: delivery.event.id })}
								>
									{t('webhooks.log.resend')}
								</button>
							</Form>
						</td>
					</tr>
				))}
			</tbody>
		</table>
	)
}
