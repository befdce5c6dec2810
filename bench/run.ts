// `npm run bench`: runs every bench (each bench/*.ts but this file), one after the other, and
// prints one summary line each. Figures are ratios against a baseline measured in the same run;
// the exit code is 1 only when a bench could not measure (setup failure, non-2xx answers).
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

type Bench = () => Promise<{ name: string; line: string }>

const files = fs
	.readdirSync(import.meta.dirname)
	.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && file !== 'run.ts')
	.sort()
const only = process.argv[2]
const selected = only ? files.filter((file) => file.replace(/\.ts$/, '') === only) : files
if (!selected.length) {
	console.error(`no bench named ${only}; there are: ${files.map((file) => file.replace(/\.ts$/, '')).join(', ')}`)
	process.exit(1)
}

const lines: string[] = []
let failed = false
for (const file of selected) {
	console.log(`\n━━ ${file} ━━`)
	try {
		const { default: bench } = (await import(pathToFileURL(path.join(import.meta.dirname, file)).href)) as { default: Bench }
		lines.push((await bench()).line)
	} catch (error) {
		failed = true
		console.error(error instanceof Error ? (error.stack ?? error.message) : error)
		lines.push(`${file.replace(/\.ts$/, '')}: FAILED (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`)
	}
}
console.log(`\n━━ summary ━━\n${lines.join('\n')}`)
process.exit(failed ? 1 : 0)
