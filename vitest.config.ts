import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';
import ClusterLastSequencer from './tests/sequencer.js';

const require = createRequire(import.meta.url);

const resolve = {
  // graphql 16 ships CJS (main) and ESM (module) builds. Node, and so type-graphql, loads the CJS
  // one; without this alias Vite would hand the test files the ESM one, and the schema would mix
  // two copies of graphql's classes.
  alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
};

export default defineConfig({
  resolve,
  test: {
    setupFiles: ['tests/setup.ts'],
    // Integration files share one Kafka, Flink and Trino on a 2-core machine: run files one at a
    // time so that a consumer group's rebalance in one file never stalls another file's wait.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // The cluster project's files last (tests/sequencer.ts).
    sequence: { sequencer: ClusterLastSequencer },
    projects: [
      { resolve, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], setupFiles: ['tests/setup.ts'] } },
      {
        resolve,
        test: {
          name: 'services',
          include: ['tests/{integration,e2e,faults,browser}/**/*.test.ts'],
          setupFiles: ['tests/setup.ts'],
          // Brings the real stack up (idempotent) before any file talks to it.
          globalSetup: ['tests/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        resolve,
        test: {
          // Faults a cluster survives, against the cluster profile (docs/cluster.md). Its files bring
          // the cluster up themselves; the global setup's teardown stops it after the run.
          name: 'cluster',
          include: ['tests/cluster/**/*.test.ts'],
          setupFiles: ['tests/setup.ts'],
          globalSetup: ['tests/cluster/global-setup.ts'],
          env: { STACK_PROFILE: 'cluster' },
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
