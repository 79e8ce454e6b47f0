import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      '@taskyard/config': resolve(__dirname, 'libs/config/src/index.ts'),
      '@taskyard/contracts': resolve(__dirname, 'libs/contracts/src/index.ts'),
      '@taskyard/crypto': resolve(__dirname, 'libs/crypto/src/index.ts'),
      '@taskyard/dispatch': resolve(__dirname, 'libs/dispatch/src/index.ts'),
      '@taskyard/example-roles': resolve(__dirname, 'libs/example-roles/src/index.ts'),
      '@taskyard/observability': resolve(__dirname, 'libs/observability/src/index.ts'),
      '@taskyard/roles': resolve(__dirname, 'libs/roles/src/index.ts'),
      '@taskyard/store': resolve(__dirname, 'libs/store/src/index.ts'),
      '@taskyard/testing': resolve(__dirname, 'libs/testing/src/index.ts'),
    },
  },
  test: {
    include: ['libs/**/src/**/*.test.ts', 'apps/**/src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Two cores: more parallel files only make the process-level tests fight for CPU.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
