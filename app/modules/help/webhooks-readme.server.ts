// The receivers' guide written next to the webhook code (app/modules/webhooks-out/README.fr.md),
// bundled into the server at build time: the « API » guide shows that file, never a copy of it.
import readme from '#app/modules/webhooks-out/README.fr.md?raw'
import { parseMarkdown } from './markdown.ts'

/** The blocks of the webhook receivers' guide, without its title (the page gives its own). */
export function webhooksGuide() {
	const blocks = parseMarkdown(readme)
	return blocks[0]?.type === 'heading' && blocks[0].level === 1 ? blocks.slice(1) : blocks
}
