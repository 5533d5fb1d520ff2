/**
 * `npm run bench:cohort [-- --full] [-- --keep]`: `cohortStats` through the gateway (GraphQL over
 * HTTP to a gateway in a child process), cold (Trino runs) and warm (the gateway's result cache
 * answers), beside the same SQL sent with trino-client directly from this process, in the same run.
 *
 * Data
 * - cold/warm: the query bench's data set when it is there (100 users x one day of heart rate at
 *   5 s under `bench-query-`, 2025-03-10), else this bench's own 100-user tier.
 * - growth: tiers of 100 and 1,000 users (full mode also 10,000), each in an hour of its own in
 *   January 2019 so that a tier's query sees only its own users: one hour of heart rate at 5 s per
 *   user (720 rows), seeded with COPY under `bench-cohort-`. Deleted at the end unless `--keep`
 *   (a kept set is reused by the next run).
 *
 * Cold means a cache miss: every cold request asks for a range no earlier request asked for (the
 * `to` moves back a second at a time), so it reaches Trino; the gateway's own Trino query counter
 * (read over IPC) checks that. Warm repeats one range. Cold gateway and raw requests alternate
 * which goes first, so neither side always gets the Postgres pages the other just read.
 *
 * The gateway child runs with TRINO_CACHE_TTL_MS=600000 (a warm answer must not expire while it is
 * measured), TRINO_QUERY_TIMEOUT_MS=600000 (the 10,000-user tier takes longer than the 30 s default)
 * and RATE_LIMIT_PER_SECOND=0 (the warm series is hundreds of requests a second from one subject).
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { BasicAuth, Trino, type QueryResult } from 'trino-client';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/timescale/migrations.js';
import { cohortStatsStatement } from '../src/trino/cohort.query.js';
import { executeSql, preparedStatementHeader } from '../src/trino/prepared-statement.js';
import { renderGrowthSvg } from './lib/plot.js';
import { startGatewayChild, type GatewayChild } from './lib/gateway-child.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { deleteSeeded, seededRows, seedReadings, type SeedSpec } from './lib/seed.js';
import { summarize } from './lib/util.js';

const run = mode();
const keep = process.argv.includes('--keep');
const HOUR = 3_600_000;
const PREFIX = 'bench-cohort-';
const TIERS = run === 'full' ? [100, 1_000, 10_000] : [100, 1_000];
const COLD_SAMPLES = run === 'full' ? 40 : 12;
const WARM_SAMPLES = run === 'full' ? 2_000 : 300;
const growthSamples = (users: number): number => (users >= 10_000 ? 3 : run === 'full' ? 10 : 5);

const tierSpec = (users: number, i: number): SeedSpec => ({
  prefix: `${PREFIX}${users}-`,
  users,
  metric: 'heart_rate',
  startMs: Date.UTC(2019, 0, 1 + i),
  stepMs: 5_000,
  perUser: 720,
});
const QUERY_BENCH = { prefix: 'bench-query-', rows: 100 * 17_280, dayStart: Date.UTC(2025, 2, 10) };

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const QUERY = `query ($from: DateTime!, $to: DateTime!) {
  cohortStats(metric: HEART_RATE, from: $from, to: $to, bucket: MINUTE) { time users count avg min max p50 p95 }
}`;

interface Range {
  from: Date;
  to: Date;
}

/** The gateway's request: returns the number of buckets it answered. */
async function viaGateway(gw: GatewayChild, r: Range): Promise<number> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY, variables: { from: r.from.toISOString(), to: r.to.toISOString() } }),
  });
  const body = (await res.json()) as { data?: { cohortStats: unknown[] }; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`cohortStats failed: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return body.data.cohortStats.length;
}

/** The same statement text and prepared-statement header the gateway sends, with trino-client. */
async function viaTrino(r: Range): Promise<number> {
  const statement = cohortStatsStatement({
    metric: 'heart_rate',
    from: r.from,
    to: r.to,
    bucket: 'MINUTE',
  } as Parameters<typeof cohortStatsStatement>[0]);
  const client = Trino.create({
    server: config.trino.server,
    catalog: config.trino.catalog,
    schema: config.trino.schema,
    source: 'fitbit-bench',
    auth: new BasicAuth(config.trino.user),
  });
  const iterator = await client.query({
    query: executeSql(statement),
    extraHeaders: { 'X-Trino-Prepared-Statement': preparedStatementHeader(statement) },
  });
  let rows = 0;
  for await (const page of iterator as AsyncIterable<QueryResult>) {
    if (page.error) throw new Error(`trino: ${page.error.message}`);
    rows += page.data?.length ?? 0;
  }
  return rows;
}

const timed = async (fn: () => Promise<number>): Promise<{ ms: number; rows: number }> => {
  const t0 = performance.now();
  const rows = await fn();
  return { ms: performance.now() - t0, rows };
};

interface ColdResult {
  gateway: ReturnType<typeof summarize>;
  raw: ReturnType<typeof summarize>;
  /** Median over pairs of (gateway - raw) on the same range: the gateway's own cost per cold query. */
  pairedOverhead: number;
  buckets: number;
  trinoQueries: number;
}

/** `samples` pairs of cold requests on ranges no request used before; `rangeOf(k)` gives them. */
async function cold(gw: GatewayChild, samples: number, rangeOf: (k: number) => Range): Promise<ColdResult> {
  const g: number[] = [];
  const r: number[] = [];
  const diffs: number[] = [];
  let buckets = 0;
  const before = await gw.trinoStats();
  for (let k = 0; k < samples; k += 1) {
    const range = rangeOf(k);
    const pair =
      k % 2 === 0
        ? { raw: await timed(() => viaTrino(range)), gw: await timed(() => viaGateway(gw, range)) }
        : { gw: await timed(() => viaGateway(gw, range)), raw: await timed(() => viaTrino(range)) };
    if (pair.gw.rows !== pair.raw.rows)
      throw new Error(`gateway answered ${pair.gw.rows} buckets, trino-client ${pair.raw.rows}`);
    buckets = pair.gw.rows;
    g.push(pair.gw.ms);
    r.push(pair.raw.ms);
    diffs.push(pair.gw.ms - pair.raw.ms);
  }
  const after = await gw.trinoStats();
  const trinoQueries = after.trinoQueries - before.trinoQueries;
  if (trinoQueries !== samples)
    throw new Error(`expected ${samples} cold gateway queries to reach Trino, counted ${trinoQueries}`);
  return {
    gateway: summarize(g),
    raw: summarize(r),
    pairedOverhead: round(summarize(diffs).p50),
    buckets,
    trinoQueries,
  };
}

async function warm(
  gw: GatewayChild,
  range: Range,
): Promise<{ latency: ReturnType<typeof summarize>; trinoQueries: number }> {
  await viaGateway(gw, range);
  // JIT and keep-alive warm-up, also answered from the cache.
  for (let i = 0; i < 50; i += 1) await viaGateway(gw, range);
  const before = await gw.trinoStats();
  const ms: number[] = [];
  for (let i = 0; i < WARM_SAMPLES; i += 1) ms.push((await timed(() => viaGateway(gw, range))).ms);
  const after = await gw.trinoStats();
  return { latency: summarize(ms), trinoQueries: after.trinoQueries - before.trinoQueries };
}

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 2, application_name: 'fitbit-bench' });
  await migrate(pool);
  const specs = TIERS.map((users, i) => tierSpec(users, i));
  let gw: GatewayChild | undefined;
  try {
    for (const spec of specs) {
      const ms = await seedReadings(pool, spec);
      console.log(
        ms
          ? `seeded ${spec.users} users x ${spec.perUser} rows with COPY in ${ms} ms`
          : `reusing ${spec.users * spec.perUser} rows under ${spec.prefix}`,
      );
    }
    const useQuerySet = (await seededRows(pool, QUERY_BENCH.prefix)) === QUERY_BENCH.rows;
    // Cold/warm: one-hour ranges at MINUTE buckets (60 points), each cold one starting a minute later.
    const coldBase = useQuerySet ? QUERY_BENCH.dayStart : specs[0]!.startMs;
    const coldSpan = useQuerySet ? HOUR : HOUR - 10 * 60_000;
    const coldStep = useQuerySet ? 60_000 : 1_000;
    const coldRange = (k: number): Range => ({
      from: new Date(coldBase + k * coldStep),
      to: new Date(coldBase + k * coldStep + coldSpan),
    });
    const dataNote = useQuerySet
      ? 'cold/warm on the query bench data set (100 users x heart rate every 5 s, 2025-03-10): 1 h ranges at MINUTE, 100 users x 720 rows per query'
      : "cold/warm on this bench's 100-user tier (the query bench data set is not seeded): 50 min ranges at MINUTE";

    // Rate limiting off: the warm series sends hundreds of requests a second from one subject.
    gw = await startGatewayChild({
      TRINO_CACHE_TTL_MS: '600000',
      TRINO_QUERY_TIMEOUT_MS: '600000',
      RATE_LIMIT_PER_SECOND: '0',
    });
    // Warm-up of both paths (Trino's plan cache, connections, the gateway's JIT) on ranges not measured.
    for (let k = 0; k < 3; k += 1) {
      const r = { from: new Date(coldBase - (k + 1) * 60_000), to: new Date(coldBase - (k + 1) * 60_000 + HOUR / 2) };
      await viaTrino(r);
      await viaGateway(gw, r);
    }

    const c = await cold(gw, COLD_SAMPLES, coldRange);
    console.log('cold:', c);
    const w = await warm(gw, coldRange(0));
    console.log('warm:', w);
    if (w.trinoQueries !== 0) throw new Error(`warm requests reached Trino ${w.trinoQueries} times`);

    const growth: { users: number; rows: number; result: ColdResult }[] = [];
    for (const spec of specs) {
      const end = spec.startMs + HOUR;
      const result = await cold(gw, growthSamples(spec.users), (k) => ({
        from: new Date(spec.startMs),
        to: new Date(end - k * 1000),
      }));
      growth.push({ users: spec.users, rows: spec.users * spec.perUser, result });
      console.log(`growth ${spec.users} users:`, result);
    }

    const figures: Figure[] = [
      {
        name: 'cohortStats cold p50 (gateway, Trino runs)',
        figure: c.gateway.p50,
        unit: 'ms',
        baseline: c.raw.p50,
        baselineName: 'same SQL with trino-client',
        ratio: round(c.gateway.p50 / c.raw.p50),
        better: 'lower',
        note: dataNote,
      },
      {
        name: 'cohortStats cold p99 (gateway)',
        figure: c.gateway.p99,
        unit: 'ms',
        baseline: c.raw.p99,
        baselineName: 'same SQL with trino-client',
        ratio: round(c.gateway.p99 / c.raw.p99),
        better: 'lower',
      },
      {
        name: 'cohortStats gateway overhead on a cold query (median of gateway - raw, same range)',
        figure: c.pairedOverhead,
        unit: 'ms',
        target: '< 10 ms',
        better: 'lower',
        note: `difference of p50s: ${round(c.gateway.p50 - c.raw.p50)} ms; ${COLD_SAMPLES} pairs`,
      },
      {
        name: 'cohortStats warm p50 (gateway, result cache hit)',
        figure: w.latency.p50,
        unit: 'ms',
        baseline: c.raw.p50,
        baselineName: 'cold query with trino-client',
        ratio: round(w.latency.p50 / c.raw.p50, 4),
        better: 'lower',
        target: '< 5 ms',
        note: `warm p99 ${w.latency.p99} ms over ${w.latency.n} sequential requests; Trino queries during the warm phase: ${w.trinoQueries}`,
      },
      ...growth.map((g): Figure => ({
        name: `cohortStats growth: cold p50 at ${g.users.toLocaleString('en-US')} users (${g.rows.toLocaleString('en-US')} rows in range)`,
        figure: g.result.gateway.p50,
        unit: 'ms',
        baseline: g.result.raw.p50,
        baselineName: 'same SQL with trino-client',
        ratio: round(g.result.gateway.p50 / g.result.raw.p50),
        better: 'lower',
        series: 'cohortStats cold p50 vs users (1 h, MINUTE)',
        x: g.users,
        xUnit: 'users (720 rows each)',
        note: `${g.users} users: 1 h at MINUTE (${g.result.buckets} buckets), ${g.result.gateway.n} cold samples; gateway p99 ${g.result.gateway.p99} ms, raw p99 ${g.result.raw.p99} ms; ${round(g.rows / (g.result.raw.p50 / 1000), 0)} rows/s through Trino`,
      })),
    ];
    const file = writeResult({
      bench: 'cohort',
      mode: run,
      figures,
      notes: [
        dataNote,
        'growth tiers: one hour of heart rate at 5 s per user (720 rows), each tier in its own hour of January 2019, cold requests only',
        `gateway child: TRINO_CACHE_TTL_MS=600000, TRINO_QUERY_TIMEOUT_MS=600000, RATE_LIMIT_PER_SECOND=0; requests sequential (one at a time)`,
        `load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)} (other processes on the machine included)`,
      ],
    });
    console.log(`wrote ${file}`);
    console.log(`wrote ${renderGrowthSvg() ?? 'no growth plot'}`);
  } finally {
    await gw?.stop();
    if (!keep) for (const spec of specs) await deleteSeeded(pool, spec.prefix).catch(() => undefined);
    await pool.end();
  }
}

await main();
