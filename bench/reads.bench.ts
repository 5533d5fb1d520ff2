/**
 * `npm run bench:reads [-- --full]`: small reads, `user(id) { latest(metric: HEART_RATE) { value } }`
 * from 16 concurrent clients, through the gateway (Apollo Server, auth, limits, metrics) beside a bare
 * graphql-js HTTP handler running the same schema, resolvers and services in the same run. The ratio
 * is the framework's overhead. Each server runs in a child process of its own, one after the other.
 *
 * Data: the query benchmark's seeded users (100 users, a day of heart rate every 5 s), seeded here
 * when missing.
 */
import { fork } from 'node:child_process';
import { graphql } from 'graphql';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createPool } from '../src/timescale/pool.js';
import { migrate } from '../src/timescale/migrations.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { createJsonClient } from './lib/http-client.js';
import { serveJson } from './lib/json-server.js';
import { seedReadings, seedUserId, type SeedSpec } from './lib/seed.js';
import { summarize } from './lib/util.js';
import { benchToken, gatewayNodeFlags, productionEnv } from './lib/production.js';

const SEED: SeedSpec = {
  prefix: 'bench-query-',
  users: 100,
  metric: 'heart_rate',
  startMs: Date.parse('2025-03-10T00:00:00.000Z'),
  stepMs: 5_000,
  perUser: 17_280,
};
const QUERY = 'query($id: ID!) { user(id: $id) { latest(metric: HEART_RATE) { value } } }';
const CLIENTS = 16;
const role = process.argv[process.argv.indexOf('--role') + 1];

/** Child: serve the schema with the gateway, or with a bare graphql-js handler; report the port. */
async function serve(kind: 'gateway' | 'bare'): Promise<void> {
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'warn',
    GRAPHIQL: 'false',
    RATE_LIMIT_PER_SECOND: '0',
    // The request path is measured, not the start-up: a gateway fills its replay log from the last
    // events of the output topics (tens of thousands after a live benchmark), which would
    // otherwise run during the measurement on the same cores.
    LIVE_REPLAY_PER_PARTITION: '0',
  });
  const logger = createLogger(config, `bench-${kind}`);
  let port: number;
  if (kind === 'gateway') {
    const { createGateway } = await import('../src/gateway/app.js');
    port = (await createGateway({ config, logger }).start()).port;
  } else {
    const { buildServices } = await import('../src/gateway/services.js');
    const { buildGatewaySchema } = await import('../src/schema/build.js');
    const { createLoaders } = await import('../src/timescale/loaders.js');
    const parts = buildServices(config, logger);
    await parts.start();
    const schema = buildGatewaySchema();
    ({ port } = await serveJson((body) => {
      const { query, variables } = body as { query: string; variables?: Record<string, unknown> };
      return graphql({
        schema,
        source: query,
        variableValues: variables,
        contextValue: { requestId: 'bench', services: parts.services, loaders: createLoaders(parts.services) },
      });
    }));
  }
  process.send?.({ port });
}

async function load(
  port: number,
  seconds: number,
): Promise<{ rps: number; latency: ReturnType<typeof summarize>; errors: number }> {
  const authorization = `Bearer ${await benchToken()}`;
  const client = createJsonClient({ port, maxSockets: CLIENTS, headers: { authorization } });
  const bodies = Array.from({ length: SEED.users }, (_, i) =>
    JSON.stringify({ query: QUERY, variables: { id: seedUserId(SEED, i) } }),
  );
  let errors = 0;
  const post = async (body: string): Promise<void> => {
    const { body: json } = await client.post<{
      data?: { user?: { latest?: { value: number } | null } };
      errors?: unknown;
    }>(body);
    if (json.errors || typeof json.data?.user?.latest?.value !== 'number') errors += 1;
  };
  const run = async (until: number, latencies: number[] | undefined) =>
    Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let k = c; Date.now() < until; k += CLIENTS) {
          const t = performance.now();
          await post(bodies[k % bodies.length]!);
          latencies?.push(performance.now() - t);
        }
      }),
    );
  await run(Date.now() + 1500, undefined); // warm-up: JIT, pool connections, plan cache
  const latencies: number[] = [];
  const t0 = performance.now();
  await run(Date.now() + seconds * 1000, latencies);
  const elapsed = (performance.now() - t0) / 1000;
  client.close();
  return { rps: latencies.length / elapsed, latency: summarize(latencies), errors };
}

async function measure(kind: 'gateway' | 'bare', seconds: number) {
  // Both servers in production mode: graphql-js's development checks would weigh on both.
  const child = fork(import.meta.filename, ['--role', kind], {
    execArgv: ['--import', 'tsx', ...gatewayNodeFlags],
    env: { ...process.env, ...productionEnv },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
    });
    return await load(port, seconds);
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const run = mode();
  const seconds = run === 'full' ? 20 : 6;
  const config = loadConfig();
  const pool = createPool(config.postgres, createLogger(config, 'bench-reads'), { max: 2 });
  try {
    await migrate(pool);
    const seedMs = await seedReadings(pool, SEED);
    if (seedMs > 0) console.log(`seeded ${SEED.users * SEED.perUser} rows in ${seedMs} ms`);
  } finally {
    await pool.end();
  }
  const bare = await measure('bare', seconds);
  const gw = await measure('gateway', seconds);
  console.log({ gateway: gw, bare });
  const figures: Figure[] = [
    {
      name: 'small reads: user(id) { latest(HEART_RATE) } throughput, 16 clients',
      figure: round(gw.rps, 0),
      unit: 'requests/s',
      baseline: round(bare.rps, 0),
      baselineName: 'bare graphql-js HTTP handler, same schema and services',
      ratio: round(gw.rps / bare.rps),
      better: 'higher',
      target: '>= 3,000 requests/s',
      note: `errors: gateway ${gw.errors}, bare ${bare.errors}; ${seconds} s each after a 1.5 s warm-up`,
    },
    {
      name: 'small reads: p99 latency, 16 clients',
      figure: gw.latency.p99,
      unit: 'ms',
      baseline: bare.latency.p99,
      baselineName: 'bare graphql-js HTTP handler',
      ratio: round(gw.latency.p99 / bare.latency.p99),
      better: 'lower',
    },
  ];
  writeResult({ bench: 'reads', mode: run, figures });
  console.log(JSON.stringify(figures, null, 2));
}

if (role === 'gateway' || role === 'bare') await serve(role);
else await main();
