import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import js from '@eslint/js';
import regexp from 'eslint-plugin-regexp';

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', '.taskyard/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Every regex in the repo: its recommended rules, and no pattern whose matching time can grow
  // faster than its input (a ReDoS on a text from outside blocks a worker's event loop).
  regexp.configs['flat/recommended'],
  {
    rules: {
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': 'error',
    },
  },
  {
    files: ['**/*.ts', '**/*.mjs'],
    plugins: { '@nx': nx },
    rules: {
      // Apps depend on libs only; a lib never imports an app; nothing deep-imports a lib; and each
      // kind of project is kept from the packages it has no business with.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // Schemas and types, no I/O: no Redis, queues, HTTP, logging or metrics.
            {
              sourceTag: 'scope:contracts',
              onlyDependOnLibsWithTags: [],
              bannedExternalImports: ['ioredis', 'bullmq', 'fastify', 'fastify-*', '@fastify/*', '@bull-board/*', 'pino', 'pino-*', 'prom-client', 'opossum'],
            },
            // Libs are what both apps agree on: no HTTP server and no circuit breaker (each app's own).
            // Their tests may use the testing entry point (type:test-lib); no app may.
            {
              sourceTag: 'type:lib',
              onlyDependOnLibsWithTags: ['type:lib', 'type:test-lib'],
              bannedExternalImports: ['fastify', 'fastify-*', '@fastify/*', '@bull-board/*', 'opossum'],
            },
            {
              sourceTag: 'type:test-lib',
              onlyDependOnLibsWithTags: ['type:lib'],
              bannedExternalImports: ['fastify', 'fastify-*', '@fastify/*', '@bull-board/*', 'opossum'],
            },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'scope:api', bannedExternalImports: ['opossum'] },
            { sourceTag: 'scope:workers', bannedExternalImports: ['fastify', 'fastify-*', '@fastify/*', '@bull-board/*'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through loadConfig() (@taskyard/config); pass it down.' },
      ],
    },
  },
  {
    // Entry points, launchers, benchmarks and tests may read the environment to build a config.
    files: ['**/main.ts', 'scripts/**', 'test/**', '**/*.test.ts', 'vitest.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Tests read loosely typed JSON responses.
    files: ['test/**', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Role modules as teams write them (ROLE_MODULES): plain CommonJS.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', exports: 'writable', module: 'writable', process: 'readonly', console: 'readonly', setTimeout: 'readonly', fetch: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The e2e project drives the apps from outside (buildApp, dist/main.js): it may reach into them.
    files: ['test/**'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
];
