// The part of autocannon's programmatic API the benches use (the package ships no types).
declare module 'autocannon' {
	type Histogram = { average: number; mean: number; stddev: number; min: number; max: number; total: number } & Record<`p${string}`, number>
	export type Options = {
		url: string
		connections?: number
		duration?: number
		timeout?: number
		pipelining?: number
		method?: string
		headers?: Record<string, string>
		title?: string
	}
	export type Result = {
		title?: string
		url: string
		duration: number
		errors: number
		timeouts: number
		resets: number
		non2xx: number
		'2xx': number
		statusCodeStats: Record<string, { count: number }>
		latency: Histogram
		requests: Histogram & { sent: number }
		throughput: Histogram
	}
	function autocannon(options: Options): Promise<Result>
	export default autocannon
}
