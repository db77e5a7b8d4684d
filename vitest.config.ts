import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['*/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // At least two files at once, even on a 2-core machine (vitest's default there is one): most of
    // a system test's time is spent waiting on nats-server, child processes and timers, not on CPU.
    // The whole suite passes this way at about half the wall time (263 s against 477 s here).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
