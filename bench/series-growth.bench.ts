/**
 * `npm run bench -- series-growth [--full]`: how `series` latency grows with the size of the
 * readings table and with the length of the range asked for.
 *
 * The measured users are the query benchmark's (100 users, a day of heart rate every 5 s, seeded
 * when missing). Filler users, in another year so that no test or benchmark range meets them, grow
 * the table in tiers (short: +2M, +5M rows; full: +2M, +10M, +50M). At each tier the series
 * service (the gateway's code path without HTTP) and the same SQL straight through pg are timed,
 * one request at a time. The filler is deleted at the end unless `--keep`.
 */
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/timescale/migrations.js';
import { createPool } from '../src/timescale/pool.js';
import { createSeriesService } from '../src/timescale/series.service.js';
import { seriesStatement } from '../src/timescale/series.sql.js';
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
const tiers = run === 'full' ? [0, 2_000_000, 10_000_000, 50_000_000] : [0, 2_000_000, 5_000_000];
const REQUESTS = run === 'full' ? 200 : 60;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const logger = createLogger(config, 'bench-series-growth');
const pool = createPool(config, logger, { max: 2, applicationName: 'bench-series-growth' });
const series = createSeriesService(pool, config, logger);

async function tableRows(): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM readings');
  return Number(rows[0]!.n);
}

/** Filler reaching `extra` rows: whole days of 5 s heart rate for as many users as it takes, in 2019. */
async function fill(extra: number): Promise<void> {
  if (extra === 0) return;
  const perUser = 17_280;
  await seedReadings(pool, {
    prefix: `${FILLER_PREFIX}${extra}-`,
    users: Math.ceil(extra / perUser),
    metric: 'heart_rate',
    startMs: Date.parse('2019-06-01T00:00:00.000Z'),
    stepMs: 5_000,
    perUser,
  });
}

async function time(
  rangeMs: number,
): Promise<{ service: ReturnType<typeof summarize>; pg: ReturnType<typeof summarize> }> {
  const from = new Date(MEASURED.startMs);
  const to = new Date(MEASURED.startMs + rangeMs);
  const flavour = await series.flavour();
  const viaService: number[] = [];
  const viaPg: number[] = [];
  for (let i = 0; i < REQUESTS; i += 1) {
    const user = seedUserId(MEASURED, i % MEASURED.users);
    let t = performance.now();
    await series.series(user, { metric: 'heart_rate', from, to, bucket: 'MINUTE' });
    viaService.push(performance.now() - t);
    t = performance.now();
    const { text, values } = seriesStatement(flavour, user, { metric: 'heart_rate', from, to, bucket: 'MINUTE' });
    await pool.query(text, values);
    viaPg.push(performance.now() - t);
  }
  return { service: summarize(viaService), pg: summarize(viaPg) };
}

await migrate(pool);
await seedReadings(pool, MEASURED);
const sizeCurve: { rows: number; service: number; pg: number }[] = [];
try {
  let added = 0;
  for (const tier of tiers) {
    await fill(tier - added);
    added = tier;
    await pool.query('ANALYZE readings');
    const rows = await tableRows();
    const t = await time(DAY);
    console.log(`table ${rows} rows: series p50 ${t.service.p50} ms (pg ${t.pg.p50} ms), p99 ${t.service.p99} ms`);
    sizeCurve.push({ rows, service: t.service.p50, pg: t.pg.p50 });
  }
  const rangeCurve: { hours: number; service: number; pg: number }[] = [];
  for (const hours of [1, 6, 24]) {
    const t = await time(hours * 3_600_000);
    console.log(`range ${hours} h: series p50 ${t.service.p50} ms (pg ${t.pg.p50} ms)`);
    rangeCurve.push({ hours, service: t.service.p50, pg: t.pg.p50 });
  }
  const figures: Figure[] = [
    ...sizeCurve.map((c) => ({
      name: `series growth: 24 h at MINUTE, p50, table of ${c.rows.toLocaleString('en-US')} rows (one request at a time)`,
      figure: c.service,
      unit: 'ms',
      baseline: c.pg,
      baselineName: 'same SQL with pg',
      ratio: round(c.service / c.pg),
      better: 'lower' as const,
    })),
    ...rangeCurve.map((c) => ({
      name: `series growth: ${c.hours} h range at MINUTE, p50 (largest table)`,
      figure: c.service,
      unit: 'ms',
      baseline: c.pg,
      baselineName: 'same SQL with pg',
      ratio: round(c.service / c.pg),
      better: 'lower' as const,
    })),
  ];
  writeResult({
    bench: 'series-growth',
    mode: run,
    figures,
    notes: [
      `Filler users live in 2019 (prefix ${FILLER_PREFIX}); the measured users' day is 2025-03-10. ${REQUESTS} requests per point, one at a time.`,
    ],
  });
  console.log(JSON.stringify(figures, null, 2));
} finally {
  if (!process.argv.includes('--keep')) {
    const removed = await deleteSeeded(pool, FILLER_PREFIX);
    console.log(`deleted ${removed} filler rows`);
    await pool.query('VACUUM readings');
  }
  await pool.end();
}
