/**
 * Local time and export, against the local stack's Postgres:
 *
 * 1. Local-day series vs UTC-day series: 20 users x 14 days of heart rate every 30 s (806,400
 *    rows under `bench-local-`, seeded with COPY, kept between runs), `series` over the 14 days at
 *    DAY buckets through the series service, alternating Europe/Berlin and UTC requests in the same
 *    run (baseline: UTC). Both read the per-minute rollup; the ratio shows what local days cost.
 * 2. Export throughput: one user's 14 days (40,320 readings, x `--full` 10 users' worth under one
 *    id in full mode) streamed as NDJSON from a gateway in a forked child process, read by this
 *    process line by line; readings/s, and the child's RSS sampled every 50 ms during the stream
 *    against its RSS before (memory flat = the peak stays near the start whatever the size).
 *    Baseline: the same COPY statement read with pg in this process.
 *
 *   npx tsx bench/privacy.bench.ts [--full] [--clean]
 */
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/timescale/migrations.js';
import { createPool } from '../src/timescale/pool.js';
import { createSeriesService } from '../src/timescale/series.service.js';
import { createExportService } from '../src/timescale/export.service.js';
import { mode, percentile, round, writeResult, type Figure } from './lib/report.js';
import { deleteSeeded, seedReadings, seedUserId, type SeedSpec } from './lib/seed.js';

const full = mode() === 'full';
const DAY = 86_400_000;
const START = Date.parse('2025-03-24T00:00:00.000Z'); // the fortnight holds the spring DST change
const SEED: SeedSpec = { prefix: 'bench-local-', users: 20, metric: 'heart_rate', startMs: START, stepMs: 30_000, perUser: (14 * DAY) / 30_000 };
const EXPORT_SEED: SeedSpec = {
  prefix: 'bench-export-',
  users: 1,
  metric: 'heart_rate',
  startMs: START,
  stepMs: full ? 3_000 : 30_000,
  perUser: (14 * DAY) / (full ? 3_000 : 30_000),
};
const REQUESTS = full ? 400 : 100;

async function runGatewayChild(): Promise<void> {
  const { createGateway } = await import('../src/gateway/app.js');
  const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'warn', GRAPHIQL: 'false' });
  const gateway = createGateway(config, createLogger(config, 'bench-gateway'));
  const { port } = await gateway.start();
  process.send?.({ kind: 'ready', port });
  setInterval(() => process.send?.({ kind: 'rss', rss: process.memoryUsage().rss }), 50).unref();
  process.on('message', (m) => {
    if (m === 'stop') void gateway.stop().then(() => process.exit(0));
  });
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const logger = createLogger(config, 'bench-privacy');
  const pool = createPool(config, logger, { max: 4, applicationName: 'fitbit-bench' });
  await migrate(pool);
  if (process.argv.includes('--clean')) {
    await deleteSeeded(pool, SEED.prefix);
    await deleteSeeded(pool, EXPORT_SEED.prefix);
  }
  const seededMs = (await seedReadings(pool, SEED)) + (await seedReadings(pool, EXPORT_SEED));
  const figures: Figure[] = [];
  const notes: string[] = [];
  if (seededMs > 0) notes.push(`seeded in ${round(seededMs / 1000, 1)} s`);

  // 1. Local-day vs UTC-day series.
  const series = createSeriesService(pool, config, logger);
  await series.start();
  const from = new Date(START);
  const to = new Date(START + 14 * DAY);
  const times: Record<'UTC' | 'Europe/Berlin', number[]> = { UTC: [], 'Europe/Berlin': [] };
  for (let i = 0; i < 20; i += 1) {
    await series.series(seedUserId(SEED, i % SEED.users), { metric: 'heart_rate', from, to, bucket: 'DAY', timeZone: i % 2 ? 'UTC' : 'Europe/Berlin' });
  }
  for (let i = 0; i < REQUESTS; i += 1) {
    for (const zone of i % 2 ? (['UTC', 'Europe/Berlin'] as const) : (['Europe/Berlin', 'UTC'] as const)) {
      const t0 = performance.now();
      const points = await series.series(seedUserId(SEED, i % SEED.users), { metric: 'heart_rate', from, to, bucket: 'DAY', timeZone: zone });
      times[zone].push(performance.now() - t0);
      if (points.length !== 14) throw new Error(`expected 14 days in ${zone}, got ${points.length}`);
    }
  }
  const p50 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
  const local = p50(times['Europe/Berlin']);
  const utc = p50(times.UTC);
  figures.push({
    name: 'series, 14 days at DAY, Europe/Berlin local days (p50)',
    figure: round(local),
    unit: 'ms',
    baseline: round(utc),
    baselineName: 'the same series in UTC days',
    ratio: round(local / utc),
    better: 'lower',
    note: `${REQUESTS} requests each, alternating, ${SEED.perUser} readings per user read through the per-minute rollup`,
  });

  // 2. Export throughput and gateway memory.
  const user = seedUserId(EXPORT_SEED, 0);
  const rows = EXPORT_SEED.perUser;
  const exportsDirect = createExportService(pool, config);
  let baseLines = 0;
  const b0 = performance.now();
  await exportsDirect.exportReadings(user, {}, new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const byte of chunk) if (byte === 10) baseLines += 1;
      cb();
    },
  }));
  const baseMs = performance.now() - b0;
  if (baseLines !== rows) throw new Error(`direct export: ${baseLines} lines, expected ${rows}`);

  const child = fork(import.meta.filename, ['--child'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const rss: number[] = [];
  const port = await new Promise<number>((resolve) =>
    child.on('message', (m: { kind: string; port?: number; rss?: number }) => {
      if (m.kind === 'ready') resolve(m.port!);
      if (m.kind === 'rss') rss.push(m.rss!);
    }),
  );
  await new Promise((r) => setTimeout(r, 500));
  const before = Math.max(...rss.slice(-5));
  rss.length = 0;
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/users/${user}/export`);
  let lines = 0;
  let bytes = 0;
  const rl = createInterface({ input: Readable.fromWeb(res.body as WebReadableStream) });
  for await (const line of rl) {
    if (line.length > 0) lines += 1;
    bytes += line.length + 1;
  }
  const ms = performance.now() - t0;
  const peak = Math.max(...rss);
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  if (lines !== rows) throw new Error(`export over HTTP: ${lines} lines, expected ${rows}`);
  figures.push({
    name: `export over HTTP, ${rows.toLocaleString('en')} readings`,
    figure: Math.round(rows / (ms / 1000)),
    unit: 'readings/s',
    baseline: Math.round(rows / (baseMs / 1000)),
    baselineName: 'the same COPY read with pg in-process',
    ratio: round(baseMs / ms),
    better: 'higher',
  });
  figures.push({
    name: `gateway RSS growth during the export of ${rows.toLocaleString('en')} readings`,
    figure: round((peak - before) / 2 ** 20, 1),
    unit: 'MiB',
    better: 'lower',
    note: `RSS ${round(before / 2 ** 20, 1)} MiB before, peak ${round(peak / 2 ** 20, 1)} MiB during (sampled every 50 ms); the NDJSON was ${round(bytes / 2 ** 20, 1)} MiB`,
  });
  await pool.end();
  const file = writeResult({ bench: 'privacy', mode: mode(), figures, notes });
  console.log(JSON.stringify(figures, null, 2));
  console.log(`wrote ${file}`);
}

if (process.argv.includes('--child')) await runGatewayChild();
else await main();
