import { describe, expect, test } from 'vitest'
import { safeRedirect } from './redirect.ts'

describe('safeRedirect', () => {
	test.each([
		['/projects?x=1', '/projects?x=1'],
		['https://evil.example/x', '/'],
		['//evil.example', '/'],
		['/\\evil.example', '/'],
		['/%5Cevil', '/%5Cevil'],
		['javascript:alert(1)', '/'],
		['/ok\nLocation: x', '/'],
		[null, '/'],
	])('%s → %s', (input, expected) => {
		expect(safeRedirect(input)).toBe(expected)
	})
})
