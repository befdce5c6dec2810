import { describe, expect, test } from 'vitest'
import { contentDisposition } from './delivery.ts'
import { assertObjectKey, assertPrefix, assertSafeKey, storageKeys, UnsafeKeyError } from './keys.ts'

describe('storage keys', () => {
	const user = '0b5c2a6e-8d1f-4c59-9a1e-1f2a3b4c5d6e'
	const project = '7e1d9c3b-2a4f-4b6e-8c0d-9e8f7a6b5c4d'

	test('the study §5 layout: user, then kind, then project', () => {
		expect(storageKeys.original(user, project, 'p1', 'heic')).toBe(`${user}/originals/${project}/p1.heic`)
		expect(storageKeys.variant(user, project, 'p1', 'thumbnail')).toBe(`${user}/thumbnails/${project}/p1.webp`)
		expect(storageKeys.variant(user, project, 'p1', 'preview')).toBe(`${user}/previews/${project}/p1.webp`)
		expect(storageKeys.transformed(user, project, 't1', 'jpg')).toBe(`${user}/transformed/${project}/t1.jpg`)
		expect(storageKeys.styleExample(user, 's1', 'png')).toBe(`${user}/styles/s1.png`)
		expect(storageKeys.user(user)).toBe(`${user}/`)
		const prefixes = storageKeys.project(user, project)
		// Every key of the project sits under exactly one of its prefixes.
		for (const key of [
			storageKeys.original(user, project, 'p1', 'jpg'),
			storageKeys.variant(user, project, 'p1', 'thumbnail'),
			storageKeys.variant(user, project, 'p1', 'preview'),
			storageKeys.transformed(user, project, 't1', 'webp'),
		]) {
			expect(() => assertObjectKey(key)).not.toThrow()
			expect(prefixes.filter((prefix) => key.startsWith(prefix))).toHaveLength(1)
		}
		for (const prefix of [...prefixes, storageKeys.user(user)]) expect(() => assertPrefix(prefix)).not.toThrow()
	})

	test('assertSafeKey refuses anything that could leave its place', () => {
		for (const key of [
			'../x',
			'a/../b',
			'/abs',
			'a\\b',
			'a\nb',
			'a\u0000b',
			'',
			'a//b',
			'.',
			'./a',
			'a/.',
			'.tmp/x',
			'a/.hidden',
			'a b',
			'é',
			'a%2Fb',
			'x'.repeat(1025),
		])
			expect(() => assertSafeKey(key), JSON.stringify(key)).toThrow(UnsafeKeyError)
		for (const key of ['a', 'a/b.c', 'a-b_c/D.9', 'u1/']) expect(() => assertSafeKey(key)).not.toThrow()
		expect(() => assertObjectKey('u1/')).toThrow(UnsafeKeyError)
		expect(() => assertPrefix('u1')).toThrow(UnsafeKeyError)
	})

	test('download names: accents kept in filename*, an ASCII fallback, no line breaks or quotes that escape', () => {
		expect(contentDisposition('Salon ensoleillé "vue mer"\n.jpg')).toBe(
			`attachment; filename="Salon ensoleille 'vue mer'.jpg"; filename*=UTF-8''Salon%20ensoleill%C3%A9%20%22vue%20mer%22.jpg`,
		)
		expect(contentDisposition("l'été (2).heic")).toBe(
			`attachment; filename="l'ete (2).heic"; filename*=UTF-8''l%27%C3%A9t%C3%A9%20%282%29.heic`,
		)
		expect(contentDisposition('../../etc/passwd')).toBe(`attachment; filename=".._.._etc_passwd"; filename*=UTF-8''.._.._etc_passwd`)
		expect(contentDisposition('\r\n')).toBe(`attachment; filename="fichier"; filename*=UTF-8''fichier`)
		expect(contentDisposition('日本.jpg')).toMatch(/^attachment; filename="__\.jpg"; filename\*=UTF-8''%E6%97%A5%E6%9C%AC\.jpg$/)
	})
})
