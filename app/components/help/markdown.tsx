import { Fragment, type ReactNode } from 'react'
import type { MarkdownBlock } from '#app/modules/help/markdown.ts'
import { CodeBlock } from './guide.tsx'

/** Text with `code` and **bold** spans, as React elements (everything else is plain, escaped text). */
export function Inline({ text }: { text: string }) {
	const parts = text.split(/(`[^`]+`|\*\*[^*]+\*\*)/).filter(Boolean)
	return (
		<>
			{parts.map((part, index): ReactNode => {
				if (part.startsWith('`') && part.endsWith('`') && part.length > 2) return <code key={index}>{part.slice(1, -1)}</code>
				if (part.startsWith('**') && part.endsWith('**') && part.length > 4) return <strong key={index}>{part.slice(2, -2)}</strong>
				return <Fragment key={index}>{part}</Fragment>
			})}
		</>
	)
}

const codeTitles: Record<string, string> = { json: 'Exemple (JSON)', js: 'JavaScript (Node.js)', sh: 'Terminal', bash: 'Terminal' }

/**
 * Parsed Markdown as page content. Headings move down so that the document's `##` becomes
 * `h{topLevel}` (the page's own section is the level above).
 */
export function MarkdownBlocks({ blocks, topLevel, codeTitle }: { blocks: MarkdownBlock[]; topLevel: 3 | 4; codeTitle: string }) {
	return (
		<>
			{blocks.map((block, index) => {
				switch (block.type) {
					case 'heading': {
						const level = Math.min(6, Math.max(topLevel, block.level - 2 + topLevel))
						const Tag = `h${level}` as 'h3'
						return (
							<Tag key={index}>
								<Inline text={block.text} />
							</Tag>
						)
					}
					case 'paragraph':
						return (
							<p key={index}>
								<Inline text={block.text} />
							</p>
						)
					case 'list':
						return (
							<ul key={index}>
								{block.items.map((item, i) => (
									<li key={i}>
										<Inline text={item} />
									</li>
								))}
							</ul>
						)
					case 'code':
						return <CodeBlock key={index} title={codeTitles[block.language] ?? codeTitle} code={block.code} />
					case 'table':
						return (
							<div key={index} className="table-scroll" role="region" aria-label={block.header.join(', ')} tabIndex={0}>
								<table>
									<thead>
										<tr>
											{block.header.map((cell, i) => (
												<th key={i} scope="col">
													<Inline text={cell} />
												</th>
											))}
										</tr>
									</thead>
									<tbody>
										{block.rows.map((row, r) => (
											<tr key={r}>
												{row.map((cell, i) => (
													<td key={i}>
														<Inline text={cell} />
													</td>
												))}
											</tr>
										))}
									</tbody>
								</table>
							</div>
						)
				}
			})}
		</>
	)
}
