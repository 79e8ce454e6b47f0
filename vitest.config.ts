import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const libs = ['config', 'contracts', 'crypto', 'dispatch', 'example-roles', 'observability', 'roles', 'store', 'testing'];

export default defineConfig({
  resolve: {
    alias: Object.fromEntries(libs.map((lib) => [`@taskyard/${lib}`, resolve(__dirname, `libs/${lib}/src/index.ts`)])),
  },
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Two cores: more parallel files only make the process-level tests fight for CPU.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'single',
          include: ['libs/**/src/**/*.test.ts', 'apps/**/src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
        },
      },
      {
        // The integration suite's core and resilience parts again, against a three-master Redis
        // Cluster the harness starts on loopback (REDIS_CLUSTER_NODES): every HTTP integration
        // test, and the fault tests that use the suite's Redis (crashed, killed and drained
        // workers, effects once, timeouts, dead letters, the shared circuit). Those that stop,
        // fill or kill a redis-server of their own, and the cut fan-out (one Redis's
        // all-or-none), are single-server by nature.
        extends: true,
        test: {
          name: 'cluster',
          include: [
            'test/api/**/*.int.test.ts',
            'test/process/{sigkill,sigterm,effects-once,timeouts,dead-letter-backoff,circuit-breaker,schedules-restart}.test.ts',
          ],
        },
      },
    ],
  },
});
