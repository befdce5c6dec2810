// The V8 CPU profiles of the diagnostics (.cpuprofile files), summarised by package/file and by
// function. V8 samples on wall-clock time: read shares, not milliseconds.
import fs from 'node:fs'
import path from 'node:path'
import { ROOT, table } from '../lib/harness.ts'

export type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
export type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Where a frame comes from: a package, a Node module group, the app's server bundle or a file of ours. */
export function category(url: string, functionName: string) {
	if (!url) return functionName || '(native)'
	const modules = url.lastIndexOf('node_modules/')
	if (modules >= 0) {
		const parts = url.slice(modules + 'node_modules/'.length).split('/')
		return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
	}
	if (url.startsWith('node:'))
		return `node:${url
			.slice(5)
			.replace(/^internal\//, '')
			.split('/')
			.slice(0, 2)
			.join('/')}`
	if (url.includes('/build/server/')) return 'app bundle (build/server)'
	return path.relative(ROOT, url.replace(/^file:\/\//, ''))
}

/** A V8 .cpuprofile summarised by package/file and by function (self time), as text. */
export function summariseProfile(file: string, functions = 40) {
	const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile
	const byId = new Map(profile.nodes.map((node) => [node.id, node]))
	const self = new Map<string, number>()
	const fns = new Map<string, number>()
	let total = 0
	profile.samples.forEach((id, index) => {
		const node = byId.get(id)!
		const ms = (profile.timeDeltas[index] ?? 0) / 1000
		total += ms
		const cat = category(node.callFrame.url, node.callFrame.functionName)
		self.set(cat, (self.get(cat) ?? 0) + ms)
		const fn = `${node.callFrame.functionName || '(anon)'} ${cat}:${node.callFrame.lineNumber}`
		fns.set(fn, (fns.get(fn) ?? 0) + ms)
	})
	const top = (map: Map<string, number>, n: number) =>
		[...map.entries()]
			.sort((a, b) => b[1] - a[1])
			.slice(0, n)
			.map(([name, ms]) => [name, ms.toFixed(0), ((100 * ms) / total).toFixed(1)])
	return [
		`\nV8 profile ${file}: ${total.toFixed(0)} ms sampled (wall-clock samples, idle included as (idle))`,
		table([['self time by package/file', 'ms', '%'], ...top(self, 25)]),
		table([['self time by function', 'ms', '%'], ...top(fns, functions)]),
	].join('\n')
}
