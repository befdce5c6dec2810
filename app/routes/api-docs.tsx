import type { LinksFunction, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx'
import { apiReference } from '#app/modules/api/docs.server.ts'
import { useT } from '#app/modules/i18n/use-t.ts'
import apiStyles from '../styles/api.css?url'

export const meta: MetaFunction = () => [{ title: 'Référence de l’API — Renzo' }]
export const links: LinksFunction = () => [{ rel: 'stylesheet', href: apiStyles }]

// Public, server-rendered from the OpenAPI document (no script, no CDN).
export async function loader() {
	return apiReference()
}

type Reference = ReturnType<typeof apiReference>
type Operation = Reference['tags'][number]['operations'][number]

const anchor = (id: string) => id.replace(/[^A-Za-z0-9_-]/g, '-')

/** The document's text: `backticks` mark code (its only Markdown). */
function Text({ children }: { children: string }) {
	return <>{children.split('`').map((part, index) => (index % 2 ? <code key={index}>{part}</code> : part))}</>
}

function OperationSection({ op }: { op: Operation }) {
	const t = useT()
	return (
		<section className="operation" id={anchor(op.id)} aria-labelledby={`${anchor(op.id)}-title`}>
			<h4 id={`${anchor(op.id)}-title`}>
				<span className="method">{op.method}</span> <code>{op.path}</code> — {op.summary}
			</h4>
			{op.description ? (
				<p>
					<Text>{op.description}</Text>
				</p>
			) : null}
			{op.public ? <p className="muted">{t('apiDocs.noKey')}</p> : null}
			{op.parameters.length ? (
				<>
					<h5>{t('apiDocs.params')}</h5>
					<div className="table-scroll">
						<table>
							<thead>
								<tr>
									<th scope="col">{t('apiDocs.param.name')}</th>
									<th scope="col">{t('apiDocs.param.in')}</th>
									<th scope="col">{t('apiDocs.param.type')}</th>
									<th scope="col">{t('apiDocs.param.required')}</th>
									<th scope="col">{t('apiDocs.param.description')}</th>
								</tr>
							</thead>
							<tbody>
								{op.parameters.map((p) => (
									<tr key={`${p.in}:${p.name}`}>
										<td>
											<code>{p.name}</code>
										</td>
										<td>{p.in}</td>
										<td>
											<code>{p.type}</code>
										</td>
										<td>{p.required ? t('apiDocs.yes') : t('apiDocs.no')}</td>
										<td>{p.description ? <Text>{p.description}</Text> : null}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
				</>
			) : null}
			{op.body ? (
				<>
					<h5>{t('apiDocs.body')}</h5>
					<p>
						<code>{op.body.contentType}</code> :{' '}
						{op.body.contentType === 'application/json' ? (
							<a href={`#schema-${anchor(op.body.type)}`}>{op.body.type}</a>
						) : (
							op.body.fields.map((field) => <code key={field}>{field}</code>)
						)}
					</p>
				</>
			) : null}
			<h5>{t('apiDocs.responses')}</h5>
			<ul>
				{op.responses.map((r) => (
					<li key={r.status}>
						<strong>{r.status}</strong> {r.codes.length ? r.codes.map((code) => <code key={code}>{code} </code>) : r.description}
						{r.type && !r.codes.length ? (
							<>
								{' '}
								— <a href={`#schema-${anchor(r.type)}`}>{r.type}</a>
							</>
						) : null}
					</li>
				))}
			</ul>
		</section>
	)
}

export default function ApiDocsPage() {
	const reference = useLoaderData<typeof loader>()
	const t = useT()
	const { limits } = reference
	return (
		<div className="api-docs">
			<h1>
				{t('apiDocs.title')} <small className="muted">v{reference.version}</small>
			</h1>
			<section className="card">
				<p>{t('apiDocs.intro', { baseUrl: reference.baseUrl })}</p>
				<p>
					<a href="/api/v1/openapi.json">{t('apiDocs.openapi')}</a> · <Link to="/settings/api-keys">{t('apiDocs.keysLink')}</Link>
				</p>
				<nav aria-labelledby="toc-title">
					<h2 id="toc-title">{t('apiDocs.toc')}</h2>
					<ul>
						<li>
							<a href="#authentification">{t('apiDocs.auth.title')}</a>
						</li>
						<li>
							<a href="#erreurs">{t('apiDocs.errors.title')}</a>
						</li>
						<li>
							<a href="#pagination">{t('apiDocs.pagination.title')}</a> · <a href="#idempotence">{t('apiDocs.idempotency.title')}</a> ·{' '}
							<a href="#limites">{t('apiDocs.rateLimit.title')}</a>
						</li>
						{reference.tags.map((tag) => (
							<li key={tag.name}>
								<a href={`#tag-${anchor(tag.name)}`}>{tag.name}</a>
							</li>
						))}
						<li>
							<a href="#schemas">{t('apiDocs.schemas.title')}</a>
						</li>
					</ul>
				</nav>
			</section>

			<section className="card" id="authentification" aria-labelledby="auth-title">
				<h2 id="auth-title">{t('apiDocs.auth.title')}</h2>
				<p>{t('apiDocs.auth.text')}</p>
				<h3>{t('apiDocs.example.title')}</h3>
				<pre>
					<code>{`curl -H "Authorization: Bearer rz_live_…" ${reference.baseUrl}/projects`}</code>
				</pre>
			</section>

			<section className="card" id="erreurs" aria-labelledby="errors-title">
				<h2 id="errors-title">{t('apiDocs.errors.title')}</h2>
				<p>{t('apiDocs.errors.text')}</p>
				<pre>
					<code>{'{ "error": { "code": "not_found", "message": "Ressource introuvable." } }'}</code>
				</pre>
				<div className="table-scroll">
					<table>
						<thead>
							<tr>
								<th scope="col">{t('apiDocs.errors.code')}</th>
								<th scope="col">{t('apiDocs.errors.status')}</th>
								<th scope="col">{t('apiDocs.errors.meaning')}</th>
							</tr>
						</thead>
						<tbody>
							{reference.errors.map((e) => (
								<tr key={e.code}>
									<td>
										<code>{e.code}</code>
									</td>
									<td>{e.status}</td>
									<td>
										<Text>{e.description}</Text>
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			</section>

			<section className="card" aria-labelledby="rules-title">
				<h2 id="pagination">{t('apiDocs.pagination.title')}</h2>
				<p>{t('apiDocs.pagination.text', { default: limits.pageDefault, max: limits.pageMax })}</p>
				<h2 id="idempotence">{t('apiDocs.idempotency.title')}</h2>
				<p>{t('apiDocs.idempotency.text', { hours: limits.idempotencyHours })}</p>
				<h2 id="limites">{t('apiDocs.rateLimit.title')}</h2>
				<p>{t('apiDocs.rateLimit.text', { limit: limits.ratePerMinute, window: limits.windowSeconds })}</p>
				<h2 id="rules-title">{t('apiDocs.limits.title')}</h2>
				<p>{t('apiDocs.limits.text', { kb: limits.jsonKb, mb: limits.uploadMb })}</p>
			</section>

			<section className="card" aria-labelledby="operations-title">
				<h2 id="operations-title">{t('apiDocs.operations.title')}</h2>
				{reference.tags.map((tag) => (
					<section key={tag.name} id={`tag-${anchor(tag.name)}`} aria-labelledby={`tag-${anchor(tag.name)}-title`}>
						<h3 id={`tag-${anchor(tag.name)}-title`}>{tag.name}</h3>
						<p className="muted">{tag.description}</p>
						{tag.operations.map((op) => (
							<OperationSection key={op.id} op={op} />
						))}
					</section>
				))}
			</section>

			<section className="card" id="schemas" aria-labelledby="schemas-title">
				<h2 id="schemas-title">{t('apiDocs.schemas.title')}</h2>
				{reference.schemas.map((schema) => (
					<section key={schema.id} id={`schema-${anchor(schema.id)}`} aria-labelledby={`schema-${anchor(schema.id)}-title`}>
						<h3 id={`schema-${anchor(schema.id)}-title`}>{schema.id}</h3>
						{schema.description ? (
							<p>
								<Text>{schema.description}</Text>
							</p>
						) : null}
						{schema.properties.length ? (
							<div className="table-scroll">
								<table>
									<thead>
										<tr>
											<th scope="col">{t('apiDocs.schema.field')}</th>
											<th scope="col">{t('apiDocs.param.type')}</th>
											<th scope="col">{t('apiDocs.param.required')}</th>
											<th scope="col">{t('apiDocs.param.description')}</th>
										</tr>
									</thead>
									<tbody>
										{schema.properties.map((p) => (
											<tr key={p.name}>
												<td>
													<code>{p.name}</code>
												</td>
												<td>
													<code>{p.type}</code>
												</td>
												<td>{p.required ? t('apiDocs.yes') : t('apiDocs.no')}</td>
												<td>
													{p.description ? <Text>{p.description}</Text> : null}
													{p.default ? ` (${t('apiDocs.schema.default', { value: p.default })})` : null}
												</td>
											</tr>
										))}
									</tbody>
								</table>
							</div>
						) : null}
					</section>
				))}
			</section>
		</div>
	)
}

export function ErrorBoundary() {
	return <GeneralErrorBoundary />
}
