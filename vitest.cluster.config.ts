/**
 * `npm run test:cluster`: fault tests against the cluster profile (three Kafka brokers, two Flink
 * TaskManagers, a Trino worker, a private Postgres), which their global setup brings up on ports
 * of its own and stops afterwards. Separate from `npm test` so that the cluster's JVMs never run
 * beside the default stack's tests; CI runs both.
 */
import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';
import { clusterEnvironment } from './tests/cluster/environment.js';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    name: 'cluster',
    include: ['tests/cluster/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    globalSetup: ['tests/cluster/global-setup.ts'],
    env: clusterEnvironment(),
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 240_000,
    hookTimeout: 600_000,
  },
});
