/**
 * `series` at DAY buckets in a local zone against the same in UTC: 20 users x three days of heart
 * rate every 10 s (518,400 rows, seeded with COPY under the user prefix `bench-local-`, kept
 * between runs and reused; `--clean` deletes them), then `series` over two days at DAY from 16
 * concurrent clients through the series service in this process (planning, zone check and SQL):
 *   - baseline: two UTC days, [2025-03-10T00:00Z, 2025-03-12T00:00Z);
 *   - figure:   two Europe/Berlin days, [2025-03-09T23:00Z, 2025-03-11T23:00Z).
 * Both read 2,880 rollup minutes per user and answer 2 points; the ratio is what grouping by local
 * days (the epoch grid moved by the offset, series.sql.ts) costs over the epoch grid. Interleaved
 * halves, so drift on a shared machine hits both sides.
 *
 *   npx tsx bench/series-local.bench.ts [--full] [--clean]     (npm run bench -- series-local)
 */
import { loadavg } from 'node:os';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/timescale/migrations.js';
import { createPool } from '../src/timescale/pool.js';
import { createSeriesService, type SeriesArgs } from '../src/timescale/series.service.js';
import { mode, percentile, round, writeResult, type Figure } from './lib/report.js';
import { deleteSeeded, seedReadings, seedUserId, type SeedSpec } from './lib/seed.js';

const PREFIX = 'bench-local-';
const USERS = 20;
const START = Date.parse('2025-03-09T12:00:00.000Z');
const STEP_MS = 10_000;
const CONCURRENCY = 16;
const full = mode() === 'full';
const SECONDS = full ? 20 : 8;
const WARMUP_SECONDS = full ? 3 : 1;
const SEED: SeedSpec = {
  prefix: PREFIX,
  users: USERS,
  metric: 'heart_rate',
  startMs: START,
  stepMs: STEP_MS,
  perUser: (3 * 86_400_000) / STEP_MS,
};

const UTC_DAYS: SeriesArgs = {
  metric: 'heart_rate',
  from: new Date('2025-03-10T00:00:00.000Z'),
  to: new Date('2025-03-12T00:00:00.000Z'),
  bucket: 'DAY',
};
const BERLIN_DAYS: SeriesArgs = {
  metric: 'heart_rate',
  from: new Date('2025-03-09T23:00:00.000Z'),
  to: new Date('2025-03-11T23:00:00.000Z'),
  bucket: 'DAY',
  timeZone: 'Europe/Berlin',
};

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
        const user = seedUserId(SEED, next++ % USERS);
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

const merge = (a: Phase, b: Phase): Phase => ({
  latencies: [...a.latencies, ...b.latencies].sort((x, y) => x - y),
  seconds: a.seconds + b.seconds,
  errors: a.errors + b.errors,
});

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
  const logger = createLogger(config, 'bench-series-local');
  const pool = createPool(config.postgres, logger, { max: config.postgres.poolMax, applicationName: 'fitbit-bench' });
  try {
    await migrate(pool);
    if (process.argv.includes('--clean')) {
      console.log(`deleted ${await deleteSeeded(pool, PREFIX)} rows under ${PREFIX}`);
      return;
    }
    const seedMs = await seedReadings(pool, SEED);
    const rows = USERS * SEED.perUser;
    console.log(
      seedMs ? `seeded ${rows} rows with COPY in ${seedMs} ms` : `reusing ${rows} seeded rows under ${PREFIX}`,
    );

    const series = createSeriesService(pool, config, logger);
    await series.start();
    const flavour = await series.flavour();
    const run = (args: SeriesArgs) => async (user: string) => {
      const points = await series.series(user, args);
      // Every minute of both days has 6 readings: a wrong grid shows as a wrong count.
      if (points.length !== 2 || points.some((p) => p.count !== 8640)) {
        throw new Error(`unexpected answer: ${JSON.stringify(points.map((p) => [p.time, p.count]))}`);
      }
    };
    const utc = run(UTC_DAYS);
    const local = run(BERLIN_DAYS);

    await load(WARMUP_SECONDS, utc);
    await load(WARMUP_SECONDS, local);
    const half = SECONDS / 2;
    const u1 = await load(half, utc);
    const l1 = await load(half, local);
    const u2 = await load(half, utc);
    const l2 = await load(half, local);
    const u = summary(merge(u1, u2));
    const l = summary(merge(l1, l2));
    console.log('UTC days          :', u);
    console.log('Europe/Berlin days:', l);

    const setup = `${USERS} users x ${SEED.perUser.toLocaleString('en-US')} heart-rate readings (10 s, three days); series over two days at DAY (2 points, 2,880 rollup minutes per user) through the series service in-process; ${CONCURRENCY} concurrent clients; ${SECONDS} s measured per side, interleaved; Postgres ${flavour}, pool ${config.postgres.poolMax}`;
    const figures: Figure[] = [
      {
        name: 'series 2 local days (Europe/Berlin) at DAY p50',
        figure: l.p50,
        unit: 'ms',
        baseline: u.p50,
        baselineName: 'two UTC days',
        ratio: round(l.p50 / u.p50),
        better: 'lower',
        target: 'ratio < 1.5',
        note: setup,
      },
      {
        name: 'series 2 local days (Europe/Berlin) at DAY p99',
        figure: l.p99,
        unit: 'ms',
        baseline: u.p99,
        baselineName: 'two UTC days',
        ratio: round(l.p99 / u.p99),
        better: 'lower',
      },
      {
        name: 'series 2 local days (Europe/Berlin) at DAY throughput',
        figure: l.rps,
        unit: 'requests/s',
        baseline: u.rps,
        baselineName: 'two UTC days',
        ratio: round(l.rps / u.rps),
        better: 'higher',
      },
    ];
    const file = writeResult({
      bench: 'series-local',
      mode: full ? 'full' : 'short',
      figures,
      notes: [
        'Latency ratios are local / UTC (lower is better); the throughput ratio is local / UTC (higher is better).',
        `errors: local ${l.errors}, UTC ${u.errors}; requests: local ${l.requests}, UTC ${u.requests}`,
        `load average (1 min) at the end of the run: ${loadavg()[0]!.toFixed(2)} (other processes on the machine included)`,
      ],
    });
    console.log(`wrote ${file}`);
  } finally {
    await pool.end();
  }
}

await main();
