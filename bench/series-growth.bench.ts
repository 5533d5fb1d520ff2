/**
 * `npm run bench -- series-growth [--full]`: how `series` latency grows with the size of the
 * readings table and with the length of the range asked for.
 *
 * The measured users are the query benchmark's (100 users, a day of heart rate every 5 s, seeded
 * when missing). Filler users, in another year so that no test or benchmark range meets them, grow
 * the table to each tier's total (short: 3M rows; full: 10M and 50M). At each tier the series
 * service (the gateway's code path without HTTP), the same SQL straight through pg and the SQL
 * used before the per-minute rollup (raw rows) are timed, one request at a time. The filler is
 * deleted at the end unless `--keep`.
 */
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/timescale/migrations.js';
import { createPool } from '../src/timescale/pool.js';
import { createSeriesService } from '../src/timescale/series.service.js';
import { bucketInterval, seriesSql, seriesStatement } from '../src/timescale/series.sql.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { deleteSeeded, seedReadings, seedUserId, type SeedSpec } from './lib/seed.js';
import { summarize } from './lib/util.js';

const DAY = 86_400_000;
const MEASURED: SeedSpec = {
  prefix: 'bench-query-',
  users: 100,
  metric: 'heart_rate',
  startMs: Date.parse('2025-03-10T00:00:00.000Z'),
  stepMs: 5_000,
  perUser: 17_280,
};
const FILLER_PREFIX = 'bench-growth-';
const run = mode();
/** Table sizes (total rows) to measure at: the measured set alone, then filled up to each total. */
const tiers = run === 'full' ? [0, 10_000_000, 50_000_000] : [0, 3_000_000];
const REQUESTS = run === 'full' ? 200 : 60;
const FILLER_PER_USER = 17_280;
/** Users per INSERT: bounds each statement's transition table (the rollup trigger reads it) to ~0.5M rows. */
const FILLER_USERS_PER_STATEMENT = 30;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const logger = createLogger(config, 'bench-series-growth');
const pool = createPool(config.postgres, logger, { max: 2, applicationName: 'bench-series-growth' });
const series = createSeriesService(pool, config, logger);

async function tableRows(): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM readings');
  return Number(rows[0]!.n);
}

let fillerUsers = 0;
/**
 * Filler up to `total` rows: whole days of 5 s heart rate in 2019, generated inside Postgres
 * (generate_series) so that tens of millions of rows cost no client round trips, a few dozen users
 * per statement.
 */
async function fillTo(total: number): Promise<void> {
  let missing = total - (await tableRows());
  const started = Date.now();
  while (missing > 0) {
    const users = Math.min(FILLER_USERS_PER_STATEMENT, Math.ceil(missing / FILLER_PER_USER));
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value, device_id)
       SELECT $1 || lpad(u::text, 6, '0'), 'heart_rate', ts, 60 + ((u * 7919 + extract(epoch FROM ts)::bigint) % 40), 'bench'
       FROM generate_series($2::int, $3::int) AS u,
            generate_series(TIMESTAMPTZ '2019-06-01 00:00:00+00', TIMESTAMPTZ '2019-06-01 23:59:55+00', INTERVAL '5 seconds') AS ts
       ON CONFLICT DO NOTHING`,
      [FILLER_PREFIX, fillerUsers, fillerUsers + users - 1],
    );
    fillerUsers += users;
    missing -= users * FILLER_PER_USER;
  }
  console.log(`filled to ${total.toLocaleString('en-US')} rows in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Deletes the filler a few users per statement (the rollup's delete trigger recomputes their minutes). */
async function deleteFiller(): Promise<number> {
  let removed = 0;
  for (let u = 0; u < fillerUsers; u += FILLER_USERS_PER_STATEMENT) {
    const res = await pool.query(
      `DELETE FROM readings WHERE user_id >= $1 || lpad($2::text, 6, '0') AND user_id < $1 || lpad($3::text, 6, '0')`,
      [FILLER_PREFIX, u, u + FILLER_USERS_PER_STATEMENT],
    );
    removed += res.rowCount ?? 0;
  }
  removed += await deleteSeeded(pool, FILLER_PREFIX); // anything left by an earlier interrupted run
  return removed;
}

async function time(rangeMs: number): Promise<{
  service: ReturnType<typeof summarize>;
  pg: ReturnType<typeof summarize>;
  rawRows: ReturnType<typeof summarize>;
}> {
  const from = new Date(MEASURED.startMs);
  const to = new Date(MEASURED.startMs + rangeMs);
  const flavour = await series.flavour();
  const viaService: number[] = [];
  const viaPg: number[] = [];
  const viaRawRows: number[] = [];
  for (let i = 0; i < REQUESTS; i += 1) {
    const user = seedUserId(MEASURED, i % MEASURED.users);
    let t = performance.now();
    await series.series(user, { metric: 'heart_rate', from, to, bucket: 'MINUTE' });
    viaService.push(performance.now() - t);
    t = performance.now();
    const { text, values } = seriesStatement(flavour, user, { metric: 'heart_rate', from, to, bucket: 'MINUTE' });
    await pool.query(text, values);
    viaPg.push(performance.now() - t);
    // The same series from raw rows only (the query before the rollup), for comparison.
    t = performance.now();
    await pool.query(seriesSql(flavour, 'raw'), [user, 'heart_rate', from, to, bucketInterval('MINUTE')]);
    viaRawRows.push(performance.now() - t);
  }
  return { service: summarize(viaService), pg: summarize(viaPg), rawRows: summarize(viaRawRows) };
}

await migrate(pool);
await seedReadings(pool, MEASURED);
await deleteFiller(); // a clean start after an interrupted run
type Point = { service: number; pg: number; rawRows: number; serviceP99: number };
const sizeCurve: (Point & { rows: number })[] = [];
const rangeCurve: (Point & { hours: number })[] = [];
const point = (t: Awaited<ReturnType<typeof time>>): Point => ({
  service: t.service.p50,
  pg: t.pg.p50,
  rawRows: t.rawRows.p50,
  serviceP99: t.service.p99,
});
try {
  for (const tier of tiers) {
    await fillTo(tier);
    await pool.query('ANALYZE readings');
    await pool.query('ANALYZE readings_minute');
    const rows = await tableRows();
    const t = await time(DAY);
    console.log(
      `table ${rows} rows: series p50 ${t.service.p50} ms (pg ${t.pg.p50} ms, raw rows ${t.rawRows.p50} ms), p99 ${t.service.p99} ms`,
    );
    sizeCurve.push({ rows, ...point(t) });
  }
  for (const hours of [1, 6, 24]) {
    const t = await time(hours * 3_600_000);
    console.log(`range ${hours} h: series p50 ${t.service.p50} ms (pg ${t.pg.p50} ms, raw rows ${t.rawRows.p50} ms)`);
    rangeCurve.push({ hours, ...point(t) });
  }
  const largest = sizeCurve.at(-1)!.rows.toLocaleString('en-US');
  const figures: Figure[] = [
    ...sizeCurve.map((c) => ({
      name: `series growth: 24 h at MINUTE, p50, table of ${c.rows.toLocaleString('en-US')} rows (one request at a time)`,
      figure: c.service,
      unit: 'ms',
      baseline: c.pg,
      baselineName: 'same SQL with pg',
      ratio: round(c.service / c.pg),
      better: 'lower' as const,
      series: 'series p50 vs table rows (24 h at MINUTE)',
      x: c.rows,
      xUnit: 'rows in readings',
      note: `p99 ${c.serviceP99} ms; the pre-rollup SQL over raw rows: ${c.rawRows} ms`,
    })),
    ...rangeCurve.map((c) => ({
      name: `series growth: ${c.hours} h range at MINUTE, p50 (table of ${largest} rows)`,
      figure: c.service,
      unit: 'ms',
      baseline: c.pg,
      baselineName: 'same SQL with pg',
      ratio: round(c.service / c.pg),
      better: 'lower' as const,
      series: 'series p50 vs range length (MINUTE)',
      x: c.hours,
      xUnit: 'hours',
      note: `the pre-rollup SQL over raw rows: ${c.rawRows} ms`,
    })),
    ...rangeCurve.map((c) => ({
      name: `series growth: ${c.hours} h range at MINUTE, pre-rollup SQL over raw rows, p50`,
      figure: c.rawRows,
      unit: 'ms',
      better: 'lower' as const,
      series: 'pre-rollup raw-row SQL p50 vs range length (MINUTE)',
      x: c.hours,
      xUnit: 'hours',
    })),
  ];
  writeResult({
    bench: 'series-growth',
    mode: run,
    figures,
    notes: [
      `Filler users live in 2019 (prefix ${FILLER_PREFIX}); the measured users' day is 2025-03-10. ${REQUESTS} requests per point, one at a time.`,
      'Three timings per request: the series service (the gateway code path without HTTP), its SQL straight through pg, and the SQL used before the per-minute rollup (aggregating raw rows).',
    ],
  });
  console.log(JSON.stringify(figures, null, 2));
} finally {
  if (!process.argv.includes('--keep')) {
    console.log(`deleted ${await deleteFiller()} filler rows`);
    await pool.query('VACUUM readings');
    await pool.query('VACUUM readings_minute');
  }
  await pool.end();
}
