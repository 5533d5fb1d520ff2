/**
 * `series` read latency: 100 users x one day of heart rate every 5 s (1,728,000 rows, seeded with
 * COPY under the user prefix `bench-query-`, kept between runs and reused; `--clean` deletes them),
 * then 24 h at MINUTE buckets (1,440 points) from 16 concurrent clients, three sides in one run:
 *   - baseline: the same SQL the gateway runs (`seriesStatement`: the per-minute rollup plus the raw
 *               edges), sent with pg from this process;
 *   - series:   the GraphQL query `series` (1,440 points of six fields) over HTTP to a gateway in a
 *               forked child process (its own CPU time and event loop, like a deployment), parsed
 *               as JSON by the client;
 *   - columns:  `seriesColumns` (the same buckets as six lists) to the same gateway.
 * All phases share the machine with Postgres (2 cores here), so a ratio is the gateway's cost.
 * `--gateways N` runs N gateway processes, the clients' requests going round-robin over them (N
 * instances behind a balancer), and only prints the figures. Default 1. `--floor` puts a plain
 * node:http server in the gateway's place, which answers the same JSON from the same series service
 * without GraphQL: what HTTP and JSON alone add to the pg side; it only prints, too.
 *
 *   npx tsx bench/query.bench.ts [--short] [--clean] [--gateways N]     (npm run bench:query)
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
import { createJsonClient } from './lib/http-client.js';
import { serveJson } from './lib/json-server.js';
import { seedReadings, seedUserId, type SeedSpec } from './lib/seed.js';
import { processTreeCpuMs } from './lib/processes.js';
import { benchToken, gatewayNodeFlags, productionEnv, profileNodeFlags } from './lib/production.js';

const PREFIX = 'bench-query-';
const USERS = 100;
const DAY_START = Date.parse('2025-03-10T00:00:00.000Z');
const STEP_MS = 5_000;
const PER_USER = 86_400_000 / STEP_MS;
const CONCURRENCY = 16;
const short = process.argv.includes('--short');
const gatewaysArg = process.argv.indexOf('--gateways');
const FLOOR = process.argv.includes('--floor');
const GATEWAYS = gatewaysArg >= 0 ? Number(process.argv[gatewaysArg + 1]) : 1;
if (!Number.isInteger(GATEWAYS) || GATEWAYS < 1) throw new Error('--gateways: expected a whole number >= 1');
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
const COLUMNS_QUERY = `query ($u: ID!, $from: DateTime!, $to: DateTime!) {
  seriesColumns(userId: $u, metric: HEART_RATE, from: $from, to: $to, bucket: MINUTE) { times count avg min max sum }
}`;

type Side = 'direct' | 'series' | 'columns';

async function runGatewayChild(): Promise<void> {
  const { createGateway } = await import('../src/gateway/app.js');
  // LIVE_REPLAY_PER_PARTITION=0: the request path is measured, not the start-up fill of the replay
  // log from the output topics (tens of thousands of events after a live benchmark).
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'warn',
    GRAPHIQL: 'false',
    LIVE_REPLAY_PER_PARTITION: '0',
  });
  const gateway = createGateway({ config, logger: createLogger(config, 'bench-gateway') });
  const { port } = await gateway.start();
  process.send?.({ kind: 'ready', port });
  process.on('message', (m) => {
    if (m === 'stop') void gateway.stop().then(() => process.exit(0));
  });
}

/**
 * The `--floor` server: `series` and `seriesColumns` answered as the gateway's JSON (the fields
 * the bench selects) from the series service the gateway's resolvers call, with no GraphQL,
 * authentication, limits or metrics on the way.
 */
async function runFloorChild(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const logger = createLogger(config, 'bench-floor');
  const pool = createPool(config.postgres, logger, { max: config.postgres.poolMax, applicationName: 'fitbit-bench' });
  const service = createSeriesService(pool, config, logger);
  const { server, port } = await serveJson(async (body) => {
    const { query, variables } = body as { query: string; variables: { u: string; from: string; to: string } };
    const args = {
      metric: 'heart_rate',
      from: new Date(variables.from),
      to: new Date(variables.to),
      bucket: 'MINUTE',
    } as const;
    if (query.includes('seriesColumns')) {
      const c = await service.seriesColumns(variables.u, args);
      const times = c.times.map((t) => t.toISOString());
      return { data: { seriesColumns: { times, count: c.count, avg: c.avg, min: c.min, max: c.max, sum: c.sum } } };
    }
    const points = await service.series(variables.u, args);
    return {
      data: {
        series: points.map((p) => ({
          time: p.time.toISOString(),
          count: p.count,
          avg: p.avg,
          min: p.min,
          max: p.max,
          sum: p.sum,
        })),
      },
    };
  });
  process.send?.({ kind: 'ready', port });
  process.on('message', (m) => {
    if (m === 'stop') server.close(() => void pool.end().then(() => process.exit(0)));
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

    const children = Array.from({ length: GATEWAYS }, () =>
      fork(import.meta.filename, ['--role', FLOOR ? 'floor' : 'gateway'], {
        execArgv: ['--import', 'tsx', ...gatewayNodeFlags, ...profileNodeFlags],
        env: { ...process.env, ...productionEnv },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    const ports = await Promise.all(
      children.map(
        (child) =>
          new Promise<number>((resolve, reject) => {
            child.once('message', (m: { kind: string; port: number }) => resolve(m.port));
            child.once('exit', (code) => reject(new Error(`gateway child exited with ${code}`)));
          }),
      ),
    );
    const authorization = `Bearer ${await benchToken()}`;
    const clients = ports.map((port) =>
      createJsonClient({ port, maxSockets: CONCURRENCY, headers: { authorization } }),
    );
    const childrenCpuMs = () => children.reduce((n, child) => n + processTreeCpuMs(child.pid!), 0);
    /** Bytes of the last answer of each gateway side (the JSON the client parsed). */
    const answerBytes = { series: 0, columns: 0 };
    let sent = 0;
    const post = <T>(query: string, u: string) =>
      clients[sent++ % clients.length]!.post<T>(JSON.stringify({ query, variables: { u, from: FROM, to: TO } }));
    const viaSeries = async (u: string) => {
      const { bytes, body } = await post<{ data?: { series: unknown[] }; errors?: unknown[] }>(QUERY, u);
      if (body.errors || body.data?.series.length !== 1440)
        throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 200)}`);
      answerBytes.series = bytes;
    };
    const viaColumns = async (u: string) => {
      const { bytes, body } = await post<{
        data?: { seriesColumns: { times: unknown[]; avg: unknown[] } };
        errors?: unknown[];
      }>(COLUMNS_QUERY, u);
      const c = body.data?.seriesColumns;
      if (body.errors || c?.times.length !== 1440 || c.avg.length !== 1440)
        throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 200)}`);
      answerBytes.columns = bytes;
    };
    const sides: Record<Side, (u: string) => Promise<void>> = { direct, series: viaSeries, columns: viaColumns };

    try {
      for (const side of ['direct', 'series', 'columns'] as const) await load(WARMUP_SECONDS, sides[side]);
      // Interleaved halves, so drift on a shared machine (autovacuum, page cache) hits every side.
      const half = SECONDS / 2;
      // CPU per request of each side, steadier than latency when other work shares the machine:
      // this process (the pg client, or the HTTP client parsing the answers) and the gateway child.
      const ownCpuMs: Record<Side, number> = { direct: 0, series: 0, columns: 0 };
      const childCpuMs: Record<Side, number> = { direct: 0, series: 0, columns: 0 };
      const ownMs = () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      };
      const phases: Record<Side, Phase[]> = { direct: [], series: [], columns: [] };
      for (let pass = 0; pass < 2; pass += 1) {
        for (const side of ['direct', 'series', 'columns'] as const) {
          const own0 = ownMs();
          const child0 = childrenCpuMs();
          phases[side].push(await load(half, sides[side]));
          ownCpuMs[side] += ownMs() - own0;
          childCpuMs[side] += childrenCpuMs() - child0;
        }
      }
      const merge = ([a, b]: Phase[]): Phase => ({
        latencies: [...a!.latencies, ...b!.latencies].sort((x, y) => x - y),
        seconds: a!.seconds + b!.seconds,
        errors: a!.errors + b!.errors,
      });
      const d = summary(merge(phases.direct));
      const g = summary(merge(phases.series));
      const c = summary(merge(phases.columns));
      const cpu = {
        gatewayMsPerRequest: round(childCpuMs.series / g.requests),
        clientMsPerGatewayRequest: round(ownCpuMs.series / g.requests),
        gatewayMsPerColumnsRequest: round(childCpuMs.columns / c.requests),
        clientMsPerColumnsRequest: round(ownCpuMs.columns / c.requests),
        pgClientMsPerRequest: round(ownCpuMs.direct / d.requests),
      };
      console.log('direct pg     :', d);
      console.log('series        :', g);
      console.log('seriesColumns :', c);
      console.log('CPU           :', cpu);
      console.log('answer bytes  :', answerBytes);

      const setup = `100 users x 17,280 heart-rate readings (5 s, one day); series and seriesColumns 24 h at MINUTE (1,440 points, read from the per-minute rollup); ${CONCURRENCY} concurrent clients; ${SECONDS} s measured per side; Postgres ${flavour}, pool ${config.postgres.poolMax}`;
      const against = (name: string, x: ReturnType<typeof summary>, target?: string): Figure[] => [
        {
          name: `${name} 24h/MINUTE p50`,
          figure: x.p50,
          unit: 'ms',
          baseline: d.p50,
          baselineName: 'same SQL with pg',
          ratio: round(x.p50 / d.p50),
          better: 'lower',
        },
        {
          name: `${name} 24h/MINUTE p99`,
          figure: x.p99,
          unit: 'ms',
          baseline: d.p99,
          baselineName: 'same SQL with pg',
          ratio: round(x.p99 / d.p99),
          better: 'lower',
          ...(target ? { target } : {}),
        },
        {
          name: `${name} 24h/MINUTE throughput`,
          figure: x.rps,
          unit: 'requests/s',
          baseline: d.rps,
          baselineName: 'same SQL with pg',
          ratio: round(x.rps / d.rps),
          better: 'higher',
        },
      ];
      const figures: Figure[] = [
        ...against('series', g, '< 50 ms, ratio < 1.5'),
        ...against('seriesColumns', c, 'ratio < 1.5'),
      ];
      if (GATEWAYS !== 1 || FLOOR) {
        // bench/results/query.json holds the one-gateway figures that BENCHMARKS.md reports.
        console.log(`${FLOOR ? 'the floor server' : `${GATEWAYS} gateway processes`}: no result file written`);
        return;
      }
      const file = writeResult({
        bench: 'query',
        mode: short ? 'short' : 'full',
        figures,
        notes: [
          setup,
          'Latency ratios are gateway / direct (overhead, lower is better); the throughput ratio is gateway / direct (higher is better).',
          `errors: series ${g.errors}, seriesColumns ${c.errors}, direct ${d.errors}; requests: series ${g.requests}, seriesColumns ${c.requests}, direct ${d.requests}`,
          `CPU a request: gateway process${GATEWAYS > 1 ? 'es' : ''} ${cpu.gatewayMsPerRequest} ms for series, ${cpu.gatewayMsPerColumnsRequest} ms for seriesColumns (its client here another ${cpu.clientMsPerGatewayRequest} and ${cpu.clientMsPerColumnsRequest} ms); the direct side's pg client ${cpu.pgClientMsPerRequest} ms`,
          `answer size: series ${answerBytes.series} bytes, seriesColumns ${answerBytes.columns} bytes`,
          `load average (1 min) at the end of the run: ${loadavg()[0]!.toFixed(2)} (other processes on the machine included)`,
        ],
      });
      console.log(`wrote ${file}`);
    } finally {
      for (const client of clients) client.close();
      for (const child of children) child.send('stop');
      await Promise.all(children.map((child) => new Promise((r) => child.once('exit', r))));
    }
  } finally {
    await pool.end();
  }
}

const role = process.argv.includes('--role') ? process.argv[process.argv.indexOf('--role') + 1] : undefined;
if (role === 'gateway') await runGatewayChild();
else if (role === 'floor') await runFloorChild();
else await main();
