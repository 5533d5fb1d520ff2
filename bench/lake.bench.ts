/**
 * `npm run bench:lake [-- --full] [-- --keep]`: cross-user aggregates over the lakehouse tier,
 * cold (TRINO_CACHE_TTL_MS=0: every request runs in Trino), beside the hot-store-only path of
 * the same requests in the same run.
 *
 * Data, in a Postgres schema and a lake schema of its own (`bench_lake`):
 * - hot tier: 1,000 users x 1 hour of heart rate at 5 s (720,000 readings) in the hot store,
 *   moved into the lake by the real tierer (its throughput is a figure). The same 1-hour requests
 *   run hot-only and through the lake: the ratio.
 * - month tier: 1,000 users x 30 days at 5 s (518.4M readings); full mode also
 *   10,000 users x 1 day (172.8M). Seeded straight into the lake's rollups with the tierer's own
 *   rollup statements (src/trino/lake.sql.ts) run over generated rows, a day (or an hour for the
 *   10,000-user tier) per statement; the lake's raw table is not filled for them, and nothing
 *   reads it for HOUR buckets. The ledger then declares the range tiered.
 * - growth: cohortStats HOUR over 1 h .. 30 days of the month tier (720k .. 518M readings in range).
 * - freshness: a gateway and a worker as processes; one reading ingested (acknowledged), then
 *   cohortStats polled every 50 ms until it counts it.
 * The seeded tiers are kept (`--keep`) or dropped at the end.
 */
import pg from 'pg';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createLakeReader, createTiererFor } from '../src/lake/index.js';
import { migrate } from '../src/timescale/migrations.js';
import { lakeTablesOf } from '../src/lake/index.js';
import {
  compactStatements,
  createStatements,
  hourRollupSelect,
  minuteRollupSelect,
  userHourRollupSelect,
} from '../src/trino/lake.sql.js';
import { createTrinoRunner } from '../src/trino/trino.client.js';
import { createTrinoService, type TrinoService } from '../src/trino/index.js';
import { benchToken, productionEnv } from './lib/production.js';
import { freePort, startService, type ServiceProcess } from './lib/processes.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { summarize } from './lib/util.js';

const run = mode();
const keep = process.argv.includes('--keep');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SCHEMA = 'bench_lake';
const base = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const config: Config = {
  ...base,
  trino: { ...base.trino, schema: SCHEMA, cacheTtlMs: 0, queryTimeoutMs: 600_000 },
  lake: { ...base.lake, schema: SCHEMA, tierMaxHours: 24 },
};
const logger = createLogger(config, 'bench-lake');
const tables = lakeTablesOf(config);
const runner = createTrinoRunner({ ...config.trino, source: 'fitbit-bench-lake', timeoutMs: 3_600_000 });

const HOT_START = Date.UTC(2024, 0, 1); // 1 hour, hot store then tiered
const MONTH_START = Date.UTC(2024, 1, 1); // 30 days, lake only
const MONTH_DAYS = 30;
const WIDE_START = Date.UTC(2024, 2, 10); // 10,000 users x 1 day, lake only (full mode)
const WIDE_USERS = 10_000;
const USERS = 1_000;
const SAMPLES = run === 'full' ? 20 : 10;

const note = (m: string) => console.log(`[bench lake] ${m}`);
const iso = (ms: number) => new Date(ms).toISOString();

/** Readings generated in Trino: `users` users, every 5 s over [startMs, startMs + hours). */
function generated(users: number, startMs: number, hours: number, prefix: string): string {
  return [
    `(SELECT '${prefix}' || CAST(u AS varchar) AS user_id, 'heart_rate' AS metric,`,
    `   from_unixtime(${startMs / 1000} + h * 3600 + s * 5, 'UTC') AS "time",`,
    '   50 + (u % 50) + ((u * 7919 + h * 977 + s * 104729) % 1000) / 10.0 AS value',
    `  FROM UNNEST(sequence(1, ${users})) AS a(u)`,
    `  CROSS JOIN UNNEST(sequence(0, ${hours - 1})) AS b(h)`,
    '  CROSS JOIN UNNEST(sequence(0, 719)) AS c(s))',
  ].join('\n');
}

async function seedLake(users: number, startMs: number, hours: number, stepHours: number, prefix: string) {
  const t0 = performance.now();
  for (let h = 0; h < hours; h += stepHours) {
    const source = generated(users, startMs + h * HOUR, stepHours, prefix);
    await runner.run(`INSERT INTO ${tables.minuteRollups}\n${minuteRollupSelect(source, 'TRUE')}`);
    await runner.run(`INSERT INTO ${tables.userHourRollups}\n${userHourRollupSelect(source, 'TRUE')}`);
    const [from, to] = [startMs + h * HOUR, startMs + (h + stepHours) * HOUR].map(
      (ms) => `from_unixtime(${ms / 1000}, 'UTC')`,
    );
    await runner.run(
      `INSERT INTO ${tables.hourRollups}\n${hourRollupSelect(tables, (c) => `${c} >= ${from} AND ${c} < ${to}`)}`,
    );
    if ((h / stepHours) % 5 === 0)
      note(`seeded ${prefix} ${iso(startMs + h * HOUR)} (${Math.round((performance.now() - t0) / 1000)} s)`);
  }
  // One file per day, as the tierer's compaction leaves them.
  for (let d = startMs; d < startMs + hours * HOUR; d += DAY) {
    for (const sql of compactStatements(tables, d)) await runner.run(sql);
  }
  return (performance.now() - t0) / 1000;
}

async function dropRollups(startMs: number, endMs: number): Promise<void> {
  for (const table of [tables.minuteRollups, tables.userHourRollups, tables.hourRollups]) {
    await runner.run(
      `DELETE FROM ${table} WHERE hour >= from_unixtime(${startMs / 1000}, 'UTC') AND hour < from_unixtime(${endMs / 1000}, 'UTC')`,
    );
  }
}

async function rowsSeeded(startMs: number, endMs: number): Promise<number> {
  const { rows } = await runner.run(
    `SELECT coalesce(sum(readings), 0) FROM ${tables.hourRollups} WHERE hour >= from_unixtime(${startMs / 1000}, 'UTC') AND hour < from_unixtime(${endMs / 1000}, 'UTC')`,
  );
  return Number(rows[0]?.[0] ?? 0);
}

async function timedSamples(n: number, fn: (k: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < n; k += 1) {
    const t = performance.now();
    await fn(k);
    out.push(performance.now() - t);
  }
  return out;
}

async function freshness(samples: number): Promise<number[]> {
  const env = {
    ...productionEnv,
    LOG_LEVEL: 'warn',
    TRINO_CACHE_TTL_MS: '0',
    KAFKA_CONSUMER_GROUP: `bench-lake-writer-${Date.now()}`,
    KAFKA_CONSUMER_FROM_BEGINNING: 'false',
    LAKE_ENABLED: 'true',
  };
  const procs: ServiceProcess[] = [];
  try {
    procs.push(
      await startService({
        name: 'worker',
        script: 'src/consumer/main.ts',
        port: await freePort(),
        env: { ...env, CONSUMER_METRICS_PORT: String(await freePort()) },
      }),
    );
    const gw = await startService({ name: 'gateway', script: 'src/gateway/main.ts', port: await freePort(), env });
    procs.push(gw);
    const token = await benchToken();
    const gql = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
      const res = await fetch(`${gw.base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: T; errors?: unknown };
      if (!body.data) throw new Error(JSON.stringify(body.errors).slice(0, 300));
      return body.data;
    };
    const COUNT = `query ($from: DateTime!, $to: DateTime!) { cohortStats(metric: HEART_RATE, from: $from, to: $to, bucket: HOUR) { count } }`;
    const INGEST = `mutation ($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted } }`;
    const out: number[] = [];
    // A window of its own, one minute per sample, so each count starts from a known figure.
    const window0 = Date.UTC(2023, 5, 1) + Math.floor(Math.random() * 1000) * HOUR;
    for (let k = 0; k < samples; k += 1) {
      const from = window0 + k * 60_000;
      const vars = { from: iso(from), to: iso(from + 60_000) };
      const count = async () =>
        (await gql<{ cohortStats: { count: number }[] }>(COUNT, vars)).cohortStats.reduce((n, p) => n + p.count, 0);
      const before = await count();
      const t0 = performance.now();
      await gql(INGEST, {
        r: [{ userId: `bench-lake-fresh-${k}`, metric: 'HEART_RATE', value: 70, time: iso(from + 1_000) }],
      });
      while ((await count()) !== before + 1) {
        if (performance.now() - t0 > 60_000) throw new Error('reading not counted within 60 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      out.push(performance.now() - t0);
    }
    return out;
  } finally {
    for (const p of procs.reverse()) await p.stop();
  }
}

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: base.postgres.url, max: 4, options: `-c search_path=${SCHEMA}` });
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await migrate(pool);
    for (const sql of createStatements(tables)) await runner.run(sql);

    // Hot tier in Postgres, then tiered by the real tierer.
    const hotRows = Number(
      (
        await pool.query('SELECT count(*) FROM readings WHERE time >= $1 AND time < $2', [
          new Date(HOT_START),
          new Date(HOT_START + HOUR),
        ])
      ).rows[0].count,
    );
    if (hotRows !== USERS * 720) {
      await pool.query('DELETE FROM readings WHERE time >= $1 AND time < $2', [
        new Date(HOT_START),
        new Date(HOT_START + HOUR),
      ]);
      await pool.query(
        `INSERT INTO readings (user_id, metric, time, value)
         SELECT 'bench-lake-' || u, 'heart_rate', $1::timestamptz + s * INTERVAL '5 seconds',
                50 + (u % 50) + ((u * 7919 + s * 104729) % 1000) / 10.0
           FROM generate_series(1, $2::int) u, generate_series(0, 719) s`,
        [new Date(HOT_START), USERS],
      );
      note(`seeded ${USERS * 720} readings in the hot store`);
    }
    await pool.query(
      'UPDATE lake_state SET tiering_from = NULL, tiering_until = NULL, lake_from = NULL, tiered_until = NULL WHERE id',
    );
    await pool.query('DELETE FROM lake_dirty_hours');
    let clock = HOT_START + HOUR + config.lake.tierGraceMs + 1;
    const { tierer, store } = createTiererFor(config, logger, pool, { now: () => new Date(clock), settleMs: 0 });
    await store.widen({ tieringFrom: new Date(HOT_START), tieringUntil: new Date(HOT_START) });
    await store.settle({ lakeFrom: new Date(HOT_START), tieredUntil: new Date(HOT_START) });
    const tierT0 = performance.now();
    const cycle = await tierer.runOnce();
    const tierS = (performance.now() - tierT0) / 1000;
    if (cycle.advancedHours !== 1)
      throw new Error(`expected the tierer to tier 1 hour, it tiered ${cycle.advancedHours}`);
    figures.push({
      name: 'tiering: hot store -> lake readings and rollups (1,000 users x 1 h)',
      figure: round((USERS * 720) / tierS, 0),
      unit: 'readings/s',
      better: 'higher',
      note: `${round(tierS, 1)} s for 720,000 readings, through Trino's JDBC read of the hot store`,
    });

    // Month tier (and wide tier) straight into the lake's rollups.
    const monthEnd = MONTH_START + MONTH_DAYS * DAY;
    if ((await rowsSeeded(MONTH_START, monthEnd)) !== USERS * 17_280 * MONTH_DAYS) {
      await dropRollups(MONTH_START, monthEnd);
      const s = await seedLake(USERS, MONTH_START, MONTH_DAYS * 24, 24, 'bench-lake-');
      notes.push(`Seeding the month tier (518.4M readings into rollups, generated in Trino) took ${Math.round(s)} s.`);
    }
    const wideEnd = WIDE_START + DAY;
    if (run === 'full' && (await rowsSeeded(WIDE_START, wideEnd)) !== WIDE_USERS * 17_280) {
      await dropRollups(WIDE_START, wideEnd);
      const s = await seedLake(WIDE_USERS, WIDE_START, 24, 2, 'bench-lake-w');
      notes.push(`Seeding the 10,000-user day (172.8M readings into rollups) took ${Math.round(s)} s.`);
    }
    // The ledger declares everything up to the last tier tiered.
    clock = (run === 'full' ? wideEnd : monthEnd) + config.lake.tierGraceMs;
    const until = new Date(run === 'full' ? wideEnd : monthEnd);
    await store.widen({ tieringUntil: until });
    await store.settle({ tieredUntil: until });

    const lakeService: TrinoService = createTrinoService({
      config,
      source: 'fitbit-bench-lake',
      lake: createLakeReader(config, pool),
    });
    const hotService: TrinoService = createTrinoService({ config, source: 'fitbit-bench-hot' });
    await lakeService.start();
    await hotService.start();

    // Same request, same data, both paths.
    const hotFrom = new Date(HOT_START);
    const hotTo = new Date(HOT_START + HOUR);
    for (const [label, bucket] of [
      ['HOUR', 'HOUR'],
      ['MINUTE', 'MINUTE'],
    ] as const) {
      const viaHot = summarize(
        await timedSamples(5, () => hotService.cohortStats('heart_rate', hotFrom, hotTo, bucket)),
      );
      const viaLake = summarize(
        await timedSamples(SAMPLES, () => lakeService.cohortStats('heart_rate', hotFrom, hotTo, bucket)),
      );
      figures.push({
        name: `cohortStats 1 h ${label}, 1,000 users (720k readings): lake p50`,
        figure: viaLake.p50,
        unit: 'ms',
        baseline: viaHot.p50,
        baselineName: 'same request over the hot store only (Trino over Postgres, one JDBC split)',
        ratio: round(viaHot.p50 / viaLake.p50, 1),
        better: 'lower',
      });
    }
    const boardHot = summarize(await timedSamples(5, () => hotService.leaderboard('heart_rate', hotFrom, hotTo, 10)));
    const boardLake = summarize(
      await timedSamples(SAMPLES, () => lakeService.leaderboard('heart_rate', hotFrom, hotTo, 10)),
    );
    figures.push({
      name: 'leaderboard 1 h, 1,000 users: lake p50',
      figure: boardLake.p50,
      unit: 'ms',
      baseline: boardHot.p50,
      baselineName: 'hot store only',
      ratio: round(boardHot.p50 / boardLake.p50, 1),
      better: 'lower',
    });

    // Growth over the month tier.
    for (const hours of [1, 6, 24, 24 * 7, 24 * 30]) {
      const n = hours === 24 * 30 ? Math.max(SAMPLES, 20) : SAMPLES;
      const s = summarize(
        await timedSamples(n, () =>
          lakeService.cohortStats('heart_rate', new Date(MONTH_START), new Date(MONTH_START + hours * HOUR), 'HOUR'),
        ),
      );
      const rows = USERS * 720 * hours;
      figures.push({
        name: `cohortStats HOUR over ${hours >= 24 ? `${hours / 24} d` : `${hours} h`} x 1,000 users (${(rows / 1e6).toFixed(1)}M readings): p50`,
        figure: s.p50,
        unit: 'ms',
        better: 'lower',
        target: hours === 720 ? 'p50 < 1000 ms, p99 < 2000 ms' : undefined,
        note: `p99 ${s.p99} ms, n=${s.n}`,
        series: 'cohortStats HOUR p50 vs readings in range (lake)',
        x: rows,
        xUnit: 'readings',
      });
    }
    const board = summarize(
      await timedSamples(SAMPLES, () =>
        lakeService.leaderboard('heart_rate', new Date(MONTH_START), new Date(monthEnd), 10),
      ),
    );
    figures.push({
      name: 'leaderboard over 30 d x 1,000 users: p50',
      figure: board.p50,
      unit: 'ms',
      better: 'lower',
      target: 'p50 < 1000 ms',
      note: `p99 ${board.p99} ms`,
    });
    if (run === 'full') {
      const wide = summarize(
        await timedSamples(SAMPLES, () =>
          lakeService.cohortStats('heart_rate', new Date(WIDE_START), new Date(wideEnd), 'HOUR'),
        ),
      );
      figures.push({
        name: 'cohortStats HOUR over 1 d x 10,000 users (172.8M readings): p50',
        figure: wide.p50,
        unit: 'ms',
        better: 'lower',
        target: 'p50 < 1000 ms',
        note: `p99 ${wide.p99} ms`,
      });
    }

    const fresh = summarize(await freshness(run === 'full' ? 40 : 15));
    figures.push({
      name: 'freshness: reading acknowledged -> counted in cohortStats, p99',
      figure: fresh.p99,
      unit: 'ms',
      better: 'lower',
      target: 'p99 < 5000 ms',
      note: `p50 ${fresh.p50} ms, n=${fresh.n}; gateway and worker as processes, cohortStats polled every 50 ms`,
    });

    const file = writeResult({ bench: 'lake', mode: run, figures, notes });
    note(`wrote ${file}`);
    for (const f of figures)
      console.log(
        `${f.name}: ${f.figure} ${f.unit}${f.ratio ? ` (x${f.ratio} vs ${f.baseline} ${f.unit})` : ''}${f.note ? ` - ${f.note}` : ''}`,
      );
    await lakeService.stop();
    await hotService.stop();
  } finally {
    if (!keep) {
      for (const t of [tables.readings, tables.minuteRollups, tables.userHourRollups, tables.hourRollups])
        await runner.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
      await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => undefined);
    }
    await pool.end();
  }
}

await main();
