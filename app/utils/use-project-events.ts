import { useRevalidator } from '@remix-run/react'
import { useEffect, useRef } from 'react'

/**
 * Live status: listens to the project's server-sent events and re-reads the page's loaders
 * when something changed (coalesced, one re-read at a time). Without JavaScript the page shows
 * the current state on every load. Returns nothing: the loader data is the truth.
 */
export function useProjectEvents(projectId: string) {
	const revalidator = useRevalidator()
	const revalidate = useRef(revalidator.revalidate)
	revalidate.current = revalidator.revalidate
	const state = useRef(revalidator.state)
	state.current = revalidator.state
	useEffect(() => {
		if (typeof EventSource === 'undefined') return
		const source = new EventSource(`/projects/${projectId}/events`)
		let timer: ReturnType<typeof setTimeout> | undefined
		const refresh = () => {
			clearTimeout(timer)
			timer = setTimeout(function tick() {
				if (state.current !== 'idle') timer = setTimeout(tick, 150)
				else revalidate.current()
			}, 120)
		}
		source.addEventListener('transformation', refresh)
		source.addEventListener('photo', refresh)
		// After a reconnection, whatever happened while disconnected is read once.
		let first = true
		source.addEventListener('ready', () => (first ? (first = false) : refresh()))
		return () => {
			clearTimeout(timer)
			source.close()
		}
	}, [projectId])
}
