// @ts-check
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.chronoverse/',
      'test-artifacts/',
      'src/gen/',
      'web/dist/',
      'packages/client/src/generated/',
      'reports/',
      '.stryker-tmp/',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSEnumDeclaration',
          message: 'Use `as const` objects, not enums (erasable syntax only).',
        },
      ],
    },
  },
  {
    // The dashboard: hooks rules, and no user text ever rendered as HTML.
    files: ['web/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.flat.recommended.rules,
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSEnumDeclaration',
          message: 'Use `as const` objects, not enums (erasable syntax only).',
        },
        {
          selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']",
          message: 'Never render text as HTML: React escapes text children; highlight with elements instead.',
        },
      ],
    },
  },
  {
    // Configuration is read in exactly one place.
    files: ['src/**/*.ts'],
    ignores: ['src/config/**', 'src/cli/main.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config only.' },
      ],
    },
  },
  {
    // Pure domain logic: no I/O, no engines.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'pg',
                'kysely',
                '@electric-sql/*',
                'ioredis',
                'fastify',
                '@fastify/*',
                'dockerode',
                'node:fs',
                'node:fs/*',
                'node:net',
                'node:http',
                '**/platform/**',
                '**/services/**',
                '**/gateway/**',
              ],
              message: 'src/domain is pure: no I/O or adapters.',
            },
          ],
        },
      ],
    },
  },
);
