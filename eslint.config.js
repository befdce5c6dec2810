import js from '@eslint/js'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
	{ ignores: ['build/**', 'app/generated/**', 'node_modules/**', '.data/**', 'test-results/**', 'public/**'] },
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		files: ['**/*.{ts,tsx,js}'],
		languageOptions: { globals: { ...globals.node, ...globals.browser } },
		plugins: { 'react-hooks': reactHooks },
		rules: {
			...reactHooks.configs.recommended.rules,
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
			'@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
			'no-control-regex': 'off',
		},
	},
	{
		// Route modules and server code must never reach vendors directly (STYLE: one module per vendor).
		files: ['app/routes/**/*.{ts,tsx}'],
		ignores: ['app/routes/**/*.test.{ts,tsx}'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					paths: ['pg-boss', 'stripe', 'replicate', '@aws-sdk/client-s3', 'sharp', 'nodemailer'].map((name) => ({
						name,
						message: 'Call a module in app/modules instead.',
					})),
				},
			],
		},
	},
)
