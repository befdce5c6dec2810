/**
 * The few Markdown blocks our French documentation files use (headings, paragraphs, lists,
 * tables, fenced code), parsed into plain data a page renders with React (so every character is
 * escaped). Inline `code` and **bold** are left in the text for the renderer. Anything else
 * reads as a paragraph; HTML comments are dropped.
 */
export type MarkdownBlock =
	| { type: 'heading'; level: number; text: string }
	| { type: 'paragraph'; text: string }
	| { type: 'list'; items: string[] }
	| { type: 'code'; language: string; code: string }
	| { type: 'table'; header: string[]; rows: string[][] }

const cells = (line: string) =>
	line
		.trim()
		.replace(/^\||\|$/g, '')
		.split('|')
		.map((cell) => cell.trim())

export function parseMarkdown(source: string): MarkdownBlock[] {
	const lines = source.replace(/<!--[\s\S]*?-->/g, '').split(/\r?\n/)
	const blocks: MarkdownBlock[] = []
	let i = 0
	while (i < lines.length) {
		const line = lines[i]!
		const fence = /^```(\w*)\s*$/.exec(line)
		if (fence) {
			const code: string[] = []
			for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) code.push(lines[i]!)
			blocks.push({ type: 'code', language: fence[1] ?? '', code: code.join('\n') })
			i++
			continue
		}
		const heading = /^(#{1,6})\s+(.*)$/.exec(line)
		if (heading) {
			blocks.push({ type: 'heading', level: heading[1]!.length, text: heading[2]!.trim() })
			i++
			continue
		}
		if (/^\s*\|/.test(line)) {
			const rows: string[][] = []
			for (; i < lines.length && /^\s*\|/.test(lines[i]!); i++) if (!/^\s*\|[\s|:-]+\|\s*$/.test(lines[i]!)) rows.push(cells(lines[i]!))
			blocks.push({ type: 'table', header: rows[0] ?? [], rows: rows.slice(1) })
			continue
		}
		if (/^- /.test(line)) {
			const items: string[] = []
			for (; i < lines.length && (/^- /.test(lines[i]!) || /^\s{2,}\S/.test(lines[i]!)); i++) {
				if (/^- /.test(lines[i]!)) items.push(lines[i]!.slice(2).trim())
				else items[items.length - 1] += ` ${lines[i]!.trim()}`
			}
			blocks.push({ type: 'list', items })
			continue
		}
		if (line.trim() === '') {
			i++
			continue
		}
		const text: string[] = []
		for (; i < lines.length && lines[i]!.trim() !== '' && !/^(```|#{1,6}\s|\s*\||- )/.test(lines[i]!); i++) text.push(lines[i]!.trim())
		blocks.push({ type: 'paragraph', text: text.join(' ') })
	}
	return blocks
}
