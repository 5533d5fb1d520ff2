/**
 * `npm run bench:export [-- --full]`: `GET /users/{userId}/export` throughput and the gateway's
 * memory while it streams.
 *
 * One user gets N readings (200,000 short, 1,000,000 full; three metrics, 5 s apart, inserted here
 * and deleted at the end) and a gateway in a child process streams them to a client that reads
 * the body as it comes. The gateway's RSS (from /proc) is sampled every 50 ms during the export;
 * "flat" means the peak over the idle RSS does not grow with N: the export is run for N/4 and
 * for N, and both peaks are reported.
 *
 * The baseline, in the same run: the raw pg driver reading the same rows with one
 * `SELECT ... ORDER BY time, metric` (all rows in memory at once, no HTTP, no JSON lines).
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createPool } from '../src/timescale/pool.js';
import { migrate } from '../src/timescale/migrations.js';
import { startGatewayChild } from './lib/gateway-child.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { runId } from './lib/util.js';

const run = mode();
const N = run === 'full' ? 1_000_000 : 200_000;
const METRICS = ['heart_rate', 'spo2', 'steps'];
const T0 = Date.UTC(2024, 0, 1);
const user = `bench-export-${runId()}`;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const pool = createPool(config.postgres, createLogger(config, 'bench-export'), { max: 2 });

const rssOf = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
};

async function seed(): Promise<void> {
  for (let i = 0; i < N; i += 50_000) {
    const n = Math.min(50_000, N - i);
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value, device_id)
       SELECT $1, ($2::text[])[1 + (g % 3)], to_timestamp(($3::float8 + (g / 3) * 5000) / 1000), 60 + g % 40, 'charge6'
       FROM generate_series($4::int, $5::int) AS g`,
      [user, METRICS, T0, i, i + n - 1],
    );
  }
}

async function exportOnce(url: string, pid: number, to: Date): Promise<{ ms: number; lines: number; peakRss: number }> {
  const idle = rssOf(pid);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  const started = performance.now();
  const res = await fetch(`${url}/users/${user}/export?to=${to.toISOString()}`);
  if (!res.ok || !res.body) throw new Error(`export answered ${res.status}`);
  let lines = 0;
  const decoder = new TextDecoder();
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const text = decoder.decode(value, { stream: true });
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines += 1;
  }
  const ms = performance.now() - started;
  clearInterval(sampler);
  return { ms, lines, peakRss: peak - idle };
}

async function rawRead(): Promise<number> {
  const client = new pg.Client({ connectionString: config.postgres.url });
  await client.connect();
  const started = performance.now();
  const r = await client.query(
    'SELECT metric, time, value, device_id, event_id FROM readings WHERE user_id = $1 ORDER BY time, metric',
    [user],
  );
  const ms = performance.now() - started;
  await client.end();
  if (r.rowCount !== N) throw new Error(`raw read: ${r.rowCount} rows`);
  return ms;
}

async function main(): Promise<void> {
  await migrate(pool);
  await seed();
  await pool.query('ANALYZE readings');
  const gateway = await startGatewayChild({ AUTH_MODE: 'development', FLINK_HEARTBEAT_INTERVAL_MS: '0' });
  const base = gateway.url.replace(/\/graphql$/, '');
  try {
    // A quarter of the readings (the first N/4 are before this instant), then all of them.
    const quarterTo = new Date(T0 + Math.floor(N / 4 / 3) * 5000);
    await exportOnce(base, gateway.pid, quarterTo); // warm-up: JIT, connections, page cache
    const quarter = await exportOnce(base, gateway.pid, quarterTo);
    const full = await exportOnce(base, gateway.pid, new Date(T0 + N * 5000));
    if (full.lines !== N) throw new Error(`export sent ${full.lines} lines, expected ${N}`);
    const rawMs = await rawRead();
    const rate = (n: number, ms: number) => round((n / ms) * 1000, 0);
    const MiB = 1024 * 1024;
    const figures: Figure[] = [
      {
        name: `export throughput (${N.toLocaleString('en-US')} readings, NDJSON over HTTP)`,
        figure: rate(full.lines, full.ms),
        unit: 'readings/s',
        baseline: rate(N, rawMs),
        baselineName: 'raw pg: one SELECT ... ORDER BY time, metric of the same rows, in memory',
        ratio: round(rate(full.lines, full.ms) / rate(N, rawMs)),
        better: 'higher',
      },
      {
        name: `export gateway RSS growth, ${full.lines.toLocaleString('en-US')} readings`,
        figure: round(full.peakRss / MiB, 1),
        unit: 'MiB',
        baseline: round(quarter.peakRss / MiB, 1),
        baselineName: `the same export of ${quarter.lines.toLocaleString('en-US')} readings`,
        ratio: round(full.peakRss / Math.max(1, quarter.peakRss)),
        better: 'lower',
        target: 'flat: no growth with the size of the export',
      },
    ];
    const file = writeResult({
      bench: 'export',
      mode: run,
      figures,
      notes: [`${N} readings of one user (3 metrics, 5 s apart); the client reads the body as it arrives.`],
    });
    console.log(JSON.stringify(figures, null, 2));
    console.log(`wrote ${file}`);
  } finally {
    await gateway.stop();
    await pool.query('DELETE FROM readings WHERE user_id = $1', [user]);
    await pool.end();
  }
}

await main();
