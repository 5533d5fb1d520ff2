/**
 * `series` read latency: 100 users x one day of heart rate every 5 s (1,728,000 rows, seeded with
 * COPY under the user prefix `bench-query-`, kept between runs and reused; `--clean` deletes them),
 * then `series` for 24 h at MINUTE buckets (1,440 points) from 16 concurrent clients:
 *   - baseline: the same SQL the gateway runs (`seriesStatement`: the per-minute rollup plus the raw
 *               edges), sent with pg from this process;
 *   - figure:   the GraphQL query over HTTP to a gateway in a forked child process (its own CPU
 *               time and event loop, like a deployment), parsed as JSON by the client.
 * Both phases share the machine with Postgres (2 cores here), so the ratio is the gateway's cost.
 *
 *   npx tsx bench/query.bench.ts [--short] [--clean]     (npm run bench:query)
 */
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/timescale/migrations.js';
import { createPool } from '../src/timescale/pool.js';
import { seriesStatement } from '../src/timescale/series.sql.js';
import { createSeriesService } from '../src/timescale/series.service.js';
import { percentile, round, writeResult, type Figure } from './lib/report.js';
import { seedReadings, seedUserId, type SeedSpec } from './lib/seed.js';
import { processTreeCpuMs } from './lib/processes.js';
import { benchToken, productionEnv } from './lib/production.js';

const PREFIX = 'bench-query-';
const USERS = 100;
const DAY_START = Date.parse('2025-03-10T00:00:00.000Z');
const STEP_MS = 5_000;
const PER_USER = 86_400_000 / STEP_MS;
const CONCURRENCY = 16;
const short = process.argv.includes('--short');
const SECONDS = short ? 5 : 20;
const WARMUP_SECONDS = short ? 1 : 3;
const SEED: SeedSpec = {
  prefix: PREFIX,
  users: USERS,
  metric: 'heart_rate',
  startMs: DAY_START,
  stepMs: STEP_MS,
  perUser: PER_USER,
};
const userId = (i: number) => seedUserId(SEED, i);
const FROM = new Date(DAY_START).toISOString();
const TO = new Date(DAY_START + 86_400_000).toISOString();

const QUERY = `query ($u: ID!, $from: DateTime!, $to: DateTime!) {
  series(userId: $u, metric: HEART_RATE, from: $from, to: $to, bucket: MINUTE) { time count avg min max sum }
}`;

async function runGatewayChild(): Promise<void> {
  const { createGateway } = await import('../src/gateway/app.js');
  const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'warn', GRAPHIQL: 'false' });
  const gateway = createGateway({ config, logger: createLogger(config, 'bench-gateway') });
  const { port } = await gateway.start();
  process.send?.({ kind: 'ready', port });
  process.on('message', (m) => {
    if (m === 'stop') void gateway.stop().then(() => process.exit(0));
  });
}

interface Phase {
  latencies: number[];
  seconds: number;
  errors: number;
}

/** `CONCURRENCY` loops calling `once(user)` back to back for `seconds`; users round-robin. */
async function load(seconds: number, once: (user: string) => Promise<void>): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const user = userId(next++ % USERS);
        const t0 = performance.now();
        try {
          await once(user);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors += 1;
          if (errors === 1) console.error('first error:', (err as Error).message);
        }
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - started) / 1000, errors };
}

function summary(p: Phase) {
  return {
    p50: round(percentile(p.latencies, 50)),
    p99: round(percentile(p.latencies, 99)),
    rps: round(p.latencies.length / p.seconds, 1),
    requests: p.latencies.length,
    errors: p.errors,
  };
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const logger = createLogger(config, 'bench-query');
  // The same pool size as the gateway's, so both sides queue 16 clients on the same connections.
  const pool = createPool(config.postgres, logger, { max: config.postgres.poolMax, applicationName: 'fitbit-bench' });
  try {
    await migrate(pool);
    if (process.argv.includes('--clean')) {
      const { rowCount } = await pool.query('DELETE FROM readings WHERE user_id LIKE $1', [`${PREFIX}%`]);
      console.log(`deleted ${rowCount} rows under ${PREFIX}`);
      return;
    }
    const seedMs = await seedReadings(pool, SEED);
    console.log(
      seedMs
        ? `seeded ${USERS * PER_USER} rows with COPY in ${seedMs} ms`
        : `reusing ${USERS * PER_USER} seeded rows under ${PREFIX}`,
    );

    const flavour = await createSeriesService(pool, config, logger).flavour();
    const direct = async (u: string) => {
      // The statement the gateway's series service builds for these arguments (rollup and all).
      const { text, values } = seriesStatement(flavour, u, {
        metric: 'heart_rate',
        from: new Date(FROM),
        to: new Date(TO),
        bucket: 'MINUTE',
      });
      const { rows } = await pool.query(text, values);
      if (rows.length !== 1440) throw new Error(`expected 1440 points, got ${rows.length}`);
    };

    const child = fork(import.meta.filename, ['--role', 'gateway'], {
      // BENCH_CPU_PROF_DIR=<dir> writes a V8 CPU profile of the gateway child there, as for bench/lib/processes.ts.
      execArgv: [
        '--import',
        'tsx',
        ...(process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : []),
      ],
      env: { ...process.env, ...productionEnv },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      child.once('message', (m: { kind: string; port: number }) => resolve(m));
      child.once('exit', (code) => reject(new Error(`gateway child exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}/graphql`;
    const authorization = `Bearer ${await benchToken()}`;
    const viaGateway = async (u: string) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: QUERY, variables: { u, from: FROM, to: TO } }),
      });
      const body = (await res.json()) as { data?: { series: unknown[] }; errors?: unknown[] };
      if (body.errors || body.data?.series.length !== 1440)
        throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 200)}`);
    };

    try {
      await load(WARMUP_SECONDS, direct);
      await load(WARMUP_SECONDS, viaGateway);
      // Interleaved halves, so drift on a shared machine (autovacuum, page cache) hits both sides.
      const half = SECONDS / 2;
      // CPU per request of each side, steadier than latency when other work shares the machine:
      // this process (the pg client, or the HTTP client parsing the answers) and the gateway child.
      let ownDirectMs = 0;
      let ownGatewayMs = 0;
      let childMs = 0;
      const ownMs = () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      };
      const timed = async (side: 'direct' | 'gateway'): Promise<Phase> => {
        const own0 = ownMs();
        const child0 = processTreeCpuMs(child.pid!);
        const phase = await load(half, side === 'direct' ? direct : viaGateway);
        if (side === 'direct') ownDirectMs += ownMs() - own0;
        else {
          ownGatewayMs += ownMs() - own0;
          childMs += processTreeCpuMs(child.pid!) - child0;
        }
        return phase;
      };
      const d1 = await timed('direct');
      const g1 = await timed('gateway');
      const d2 = await timed('direct');
      const g2 = await timed('gateway');
      const merge = (a: Phase, b: Phase): Phase => ({
        latencies: [...a.latencies, ...b.latencies].sort((x, y) => x - y),
        seconds: a.seconds + b.seconds,
        errors: a.errors + b.errors,
      });
      const d = summary(merge(d1, d2));
      const g = summary(merge(g1, g2));
      const cpu = {
        gatewayMsPerRequest: round(childMs / g.requests),
        clientMsPerGatewayRequest: round(ownGatewayMs / g.requests),
        pgClientMsPerRequest: round(ownDirectMs / d.requests),
      };
      console.log('direct pg :', d);
      console.log('gateway   :', g);
      console.log('CPU       :', cpu);

      const setup = `100 users x 17,280 heart-rate readings (5 s, one day); series 24 h at MINUTE (1,440 points, read from the per-minute rollup); ${CONCURRENCY} concurrent clients; ${SECONDS} s measured per side; Postgres ${flavour}, pool ${config.postgres.poolMax}`;
      const figures: Figure[] = [
        {
          name: 'series 24h/MINUTE p50',
          figure: g.p50,
          unit: 'ms',
          baseline: d.p50,
          baselineName: 'same SQL with pg',
          ratio: round(g.p50 / d.p50),
          better: 'lower',
          note: setup,
        },
        {
          name: 'series 24h/MINUTE p99',
          figure: g.p99,
          unit: 'ms',
          baseline: d.p99,
          baselineName: 'same SQL with pg',
          ratio: round(g.p99 / d.p99),
          better: 'lower',
          target: '< 50 ms, ratio < 1.5',
        },
        {
          name: 'series 24h/MINUTE throughput',
          figure: g.rps,
          unit: 'requests/s',
          baseline: d.rps,
          baselineName: 'same SQL with pg',
          ratio: round(g.rps / d.rps),
          better: 'higher',
        },
      ];
      const file = writeResult({
        bench: 'query',
        mode: short ? 'short' : 'full',
        figures,
        notes: [
          setup,
          'Latency ratios are gateway / direct (overhead, lower is better); the throughput ratio is gateway / direct (higher is better).',
          `errors: gateway ${g.errors}, direct ${d.errors}; requests: gateway ${g.requests}, direct ${d.requests}`,
          `CPU a request: gateway process ${cpu.gatewayMsPerRequest} ms (its client here another ${cpu.clientMsPerGatewayRequest} ms); the direct side's pg client ${cpu.pgClientMsPerRequest} ms`,
          `load average (1 min) at the end of the run: ${loadavg()[0]!.toFixed(2)} (other processes on the machine included)`,
        ],
      });
      console.log(`wrote ${file}`);
    } finally {
      child.send('stop');
      await new Promise((r) => child.once('exit', r));
    }
  } finally {
    await pool.end();
  }
}

if (process.argv.includes('--role') && process.argv[process.argv.indexOf('--role') + 1] === 'gateway')
  await runGatewayChild();
else await main();
