/**
 * Erasure of one user's data against the real stack: readings ingested through the gateway and
 * stored by a consumer worker, windows and alerts stored by the history writer, aggregates cached
 * from Trino; eraseUserData removes the user from all of them, a new consumer group replaying the
 * topics from the beginning brings nothing of the user back, and what the user sends afterwards is
 * stored as usual.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createKafka } from '../../src/kafka/client.js';
import { createPool, type Pool } from '../../src/timescale/pool.js';
import { createConsumerWorker, type ConsumerWorker } from '../../src/consumer/worker.js';
import { createHistoryWriter, historyGroupId, type HistoryWriter } from '../../src/consumer/history.writer.js';
import { signToken, type TokenClaims } from '../../src/auth/sign.js';
import {
  RESUMABLE_WINDOWS_QUERY,
  collectSubscription,
  connectedProducer,
  produceJson,
  startLiveGateway,
  testProducerKafka,
  windowV1,
  wsClient,
  type LiveGateway,
  type ResumableWindowData,
} from '../helpers/live.js';
import { createTopics } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const SECRET = 'erasure-test-secret-0123456789-abcdefghij';
const id = uniqueId('erase');
const env = {
  KAFKA_TOPIC: `${id}-ingestion`,
  KAFKA_PROCESSED_TOPIC: `${id}-processed`,
  KAFKA_ALERTS_TOPIC: `${id}-alerts`,
  KAFKA_DLQ_TOPIC: `${id}-dlq`,
  KAFKA_CONSUMER_GROUP: `${id}-g1`,
};
const replayGroup = `${id}-g2`;
const gatewayEnv = {
  ...env,
  AUTH_MODE: 'required',
  AUTH_JWT_SECRET: SECRET,
  RATE_LIMIT_PER_SECOND: '1000',
  // Long enough that the aggregates asked before the erasure are still cached when it runs.
  TRINO_CACHE_TTL_MS: '600000',
};

// An hour of 2025 of this run's own (other tests and runs write other hours), on a minute boundary.
const T0 = Date.UTC(2025, 2, 1) + Math.floor(Math.random() * 24 * 300) * 3_600_000;
const FROM = new Date(T0).toISOString();
const TO = new Date(T0 + 3_600_000).toISOString();
const at = (minute: number, second: number) => new Date(T0 + minute * 60_000 + second * 1000).toISOString();

const [erased, alice, bob, dora] = ['erased', 'alice', 'bob', 'dora'].map((p) => uniqueId(`erase-${p}`)) as [
  string,
  string,
  string,
  string,
];

interface TestReading {
  userId: string;
  metric: 'HEART_RATE' | 'STEPS';
  time: string;
  value: number;
}

/** `n` readings of a user: metric alternating, seconds 0, 7, 14, ... so they spread over minutes. */
function readingsOf(userId: string, n: number, base: number): TestReading[] {
  return Array.from({ length: n }, (_, i) => ({
    userId,
    metric: i % 2 === 0 ? 'HEART_RATE' : 'STEPS',
    time: at(Math.floor((i * 23) / 60), (i * 23) % 60),
    value: base + i,
  }));
}
const minuteOf = (iso: string) => Math.floor(Date.parse(iso) / 60_000);
/** The per-minute rollup's rows a user's readings make: distinct (metric, minute). */
const rollupRows = (rs: TestReading[]) => new Set(rs.map((r) => `${r.metric}|${minuteOf(r.time)}`)).size;

const sent = {
  [erased]: readingsOf(erased, 10, 60),
  [alice]: readingsOf(alice, 7, 80),
  [bob]: readingsOf(bob, 5, 100),
  [dora]: readingsOf(dora, 3, 120),
};
const allReadings = Object.values(sent).flat();

const windowsSent = {
  [erased]: [0, 1, 2].map((m) => windowV1(erased, 'heart_rate', T0 + m * 60_000, [60 + m, 62 + m])),
  [alice]: [0, 1].map((m) => windowV1(alice, 'heart_rate', T0 + m * 60_000, [80 + m])),
  [bob]: [] as ReturnType<typeof windowV1>[],
  [dora]: [] as ReturnType<typeof windowV1>[],
};
const alert = (userId: string, minute: number) => ({
  alertId: `low_spo2:${userId}:${at(minute, 0)}`,
  userId,
  kind: 'low_spo2',
  time: at(minute, 0),
  message: 'SpO2 fell below 90 %',
  details: { spo2Min: 85 },
});
const alertsSent = {
  [erased]: [alert(erased, 1), alert(erased, 2)],
  [alice]: [] as ReturnType<typeof alert>[],
  [bob]: [alert(bob, 3)],
  [dora]: [] as ReturnType<typeof alert>[],
};
const windowCount = Object.values(windowsSent).flat().length;
const alertCount = Object.values(alertsSent).flat().length;

const INGEST = `mutation I($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted rejected { index code } } }`;
const ERASE = `mutation E($u: ID!) {
  eraseUserData(userId: $u) { userId erasedAt readings rollupMinutes windows alerts cachesCleared }
}`;
const READINGS = `query R($u: ID!, $m: Metric!, $f: DateTime!, $t: DateTime!) {
  readings(userId: $u, metric: $m, from: $f, to: $t, first: 1000) { nodes { time value } }
}`;
const SERIES = `query S($u: ID!, $m: Metric!, $f: DateTime!, $t: DateTime!) {
  series(userId: $u, metric: $m, from: $f, to: $t, bucket: MINUTE) { time count sum }
}`;
const WINDOWS = `query W($u: ID!, $f: DateTime!, $t: DateTime!) { windows(userId: $u, from: $f, to: $t) { windowStart cursor } }`;
const ALERTS = `query A($u: ID!, $f: DateTime!, $t: DateTime!) { alerts(userId: $u, from: $f, to: $t) { alertId } }`;
const LEADERBOARD = `query L($f: DateTime!, $t: DateTime!) {
  leaderboard(metric: HEART_RATE, from: $f, to: $t, limit: 1000) { userId value }
}`;
const COHORT = `query C($f: DateTime!, $t: DateTime!) {
  cohortStats(metric: HEART_RATE, from: $f, to: $t, bucket: HOUR) { count users }
}`;

interface Answer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}
interface Erasure {
  userId: string;
  erasedAt: string;
  readings: number;
  rollupMinutes: number;
  windows: number;
  alerts: number;
  cachesCleared: number;
}

describe('eraseUserData', () => {
  let kafka: Kafka;
  let producer: Producer;
  let gw: LiveGateway;
  let pool: Pool;
  const workers: ConsumerWorker[] = [];
  const writers: HistoryWriter[] = [];
  const tokens: Record<string, string> = {};

  const bearer = (claims: TokenClaims) => signToken(claims, { secret: SECRET }).then((t) => `Bearer ${t}`);
  async function gql<T>(query: string, variables: Record<string, unknown>, as: string): Promise<Answer<T>> {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: tokens[as]! },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as Answer<T>;
  }
  const data = <T>(a: Answer<T>): T => {
    expect(a.errors).toBeUndefined();
    return a.data!;
  };
  const codeOf = (a: Answer<unknown>) => a.errors?.[0]?.extensions?.code;

  const configFor = (group: string): Config =>
    loadConfig({
      ...process.env,
      ...env,
      KAFKA_CONSUMER_GROUP: group,
      KAFKA_CONSUMER_FROM_BEGINNING: 'true',
      CONSUMER_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    });
  /** A consumer worker and a history writer of their own group, reading every topic from the beginning. */
  async function startPipeline(group: string): Promise<{ worker: ConsumerWorker; writer: HistoryWriter }> {
    const config = configFor(group);
    const logger = createLogger(config, 'erasure-test');
    const worker = createConsumerWorker({ config, logger, print: () => undefined });
    workers.push(worker);
    await worker.start();
    const writer = createHistoryWriter({ config, logger, kafka: createKafka(config.kafka, logger), pool });
    writers.push(writer);
    await writer.start();
    return { worker, writer };
  }

  const storedReadings = async (userId: string): Promise<number> =>
    Number(
      (await pool.query<{ n: string }>('SELECT count(*) AS n FROM readings WHERE user_id = $1', [userId])).rows[0]!.n,
    );
  const rollupOf = async (userId: string): Promise<number> =>
    Number(
      (await pool.query<{ n: string }>('SELECT count(*) AS n FROM readings_minute WHERE user_id = $1', [userId]))
        .rows[0]!.n,
    );
  /** Readings of a user through the gateway (both metrics), as admin. */
  async function readingsVia(userId: string, as = 'admin'): Promise<number> {
    let n = 0;
    for (const m of ['HEART_RATE', 'STEPS']) {
      const a = data(await gql<{ readings: { nodes: unknown[] } }>(READINGS, { u: userId, m, f: FROM, t: TO }, as));
      n += a.readings.nodes.length;
    }
    return n;
  }
  async function seriesCount(userId: string, as = 'admin'): Promise<number> {
    let n = 0;
    for (const m of ['HEART_RATE', 'STEPS']) {
      const a = data(await gql<{ series: { count: number }[] }>(SERIES, { u: userId, m, f: FROM, t: TO }, as));
      n += a.series.reduce((s, p) => s + p.count, 0);
    }
    return n;
  }
  const windowsVia = async (userId: string, as = 'admin') =>
    data(await gql<{ windows: unknown[] }>(WINDOWS, { u: userId, f: FROM, t: TO }, as)).windows.length;
  const alertsVia = async (userId: string, as = 'admin') =>
    data(await gql<{ alerts: unknown[] }>(ALERTS, { u: userId, f: FROM, t: TO }, as)).alerts.length;
  const heartRateOf = (userId: string) => sent[userId]!.filter((r) => r.metric === 'HEART_RATE');

  beforeAll(async () => {
    kafka = testProducerKafka();
    await createTopics(
      kafka,
      Object.values(env).filter((v) => !v.endsWith('-g1')),
      3,
    );
    producer = await connectedProducer(kafka);
    const config = configFor(env.KAFKA_CONSUMER_GROUP);
    pool = createPool(config.postgres, createLogger(config, 'erasure-test'), { max: 2 });
    tokens['admin'] = await bearer({ sub: uniqueId('erase-admin'), roles: ['admin'] });
    tokens['device'] = await bearer({
      sub: uniqueId('erase-dev'),
      roles: ['device'],
      users: [erased, alice, bob, dora],
    });
    // A device whose own subject is the user: it may ingest for that user, not erase them.
    tokens['self-device'] = await bearer({ sub: erased, roles: ['device'] });
    for (const u of [erased, alice]) tokens[u] = await bearer({ sub: u, roles: ['user'] });
    await startPipeline(env.KAFKA_CONSUMER_GROUP);
    gw = await startLiveGateway(gatewayEnv);
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
    for (const w of writers) await w.stop().catch(() => undefined);
    for (const w of workers) await w.stop().catch(() => undefined);
    await producer?.disconnect();
    if (pool) {
      const users = [erased, alice, bob, dora];
      for (const table of ['readings', 'metric_windows', 'alert_events', 'erasures'])
        await pool.query(`DELETE FROM ${table} WHERE user_id = ANY($1)`, [users]);
      await pool.end();
    }
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(env).filter((v) => !v.endsWith('-g1')) }).catch(() => undefined);
    const groups = [env.KAFKA_CONSUMER_GROUP, replayGroup];
    await admin
      .deleteGroups([...groups, ...groups.map((g) => historyGroupId({ kafka: { consumerGroup: g } } as Config))])
      .catch(() => undefined);
    await admin.disconnect();
  }, 60_000);

  it('removes the user from every store, only for the user themself or an admin, and a replay brings nothing back', async () => {
    // Ingested through the gateway and stored by the worker; windows and alerts stored by the history writer.
    const ingested = data(await gql<{ ingestReadings: { accepted: number } }>(INGEST, { r: allReadings }, 'device'));
    expect(ingested.ingestReadings.accepted).toBe(allReadings.length);
    await produceJson(producer, env.KAFKA_PROCESSED_TOPIC, Object.values(windowsSent).flat());
    await produceJson(producer, env.KAFKA_ALERTS_TOPIC, Object.values(alertsSent).flat());
    await waitFor(
      async () => {
        for (const u of [erased, alice, bob, dora]) if ((await storedReadings(u)) !== sent[u]!.length) return false;
        const w = await pool.query('SELECT 1 FROM metric_windows WHERE user_id = ANY($1)', [[erased, alice]]);
        const a = await pool.query('SELECT 1 FROM alert_events WHERE user_id = ANY($1)', [[erased, bob]]);
        return w.rowCount === windowCount && a.rowCount === alertCount;
      },
      { timeoutMs: 60_000, what: 'readings, windows and alerts stored' },
    );
    expect(await rollupOf(erased)).toBe(rollupRows(sent[erased]!));
    // A cursor the user could resume a subscription from after the erasure.
    const [firstWindow] = data(
      await gql<{ windows: { cursor: string }[] }>(WINDOWS, { u: erased, f: FROM, t: TO }, erased),
    ).windows;

    // Aggregates computed (and cached) while the user's readings are stored.
    const board = data(await gql<{ leaderboard: { userId: string }[] }>(LEADERBOARD, { f: FROM, t: TO }, 'admin'));
    expect(board.leaderboard.map((e) => e.userId).sort()).toEqual([erased, alice, bob, dora].sort());
    const cohort = data(await gql<{ cohortStats: { count: number }[] }>(COHORT, { f: FROM, t: TO }, 'admin'));
    expect(cohort.cohortStats[0]!.count).toBe(allReadings.filter((r) => r.metric === 'HEART_RATE').length);

    // Who may erase: not another user, not a device (not even the device whose subject is the user).
    expect(codeOf(await gql(ERASE, { u: alice }, erased))).toBe('FORBIDDEN');
    expect(codeOf(await gql(ERASE, { u: erased }, 'device'))).toBe('FORBIDDEN');
    expect(codeOf(await gql(ERASE, { u: erased }, 'self-device'))).toBe('FORBIDDEN');
    expect(await storedReadings(alice)).toBe(sent[alice]!.length);

    // The user erases themself.
    const before = Date.now();
    const result = data(await gql<{ eraseUserData: Erasure }>(ERASE, { u: erased }, erased)).eraseUserData;
    expect(result).toEqual({
      userId: erased,
      erasedAt: expect.any(String),
      readings: sent[erased]!.length,
      rollupMinutes: rollupRows(sent[erased]!),
      windows: windowsSent[erased]!.length,
      alerts: alertsSent[erased]!.length,
      cachesCleared: 2,
    });
    expect(Date.parse(result.erasedAt)).toBeGreaterThanOrEqual(before - 1000);

    // An admin erases another user.
    const byAdmin = data(await gql<{ eraseUserData: Erasure }>(ERASE, { u: dora }, 'admin')).eraseUserData;
    expect(byAdmin).toMatchObject({
      userId: dora,
      readings: sent[dora]!.length,
      rollupMinutes: rollupRows(sent[dora]!),
      windows: 0,
      alerts: 0,
      cachesCleared: 0,
    });
    const ledger = await pool.query<{ user_id: string; requested_by: string }>(
      'SELECT user_id, requested_by FROM erasures WHERE user_id = ANY($1) ORDER BY erased_at',
      [[erased, dora]],
    );
    expect(ledger.rows).toEqual([
      { user_id: erased, requested_by: erased },
      { user_id: dora, requested_by: expect.stringMatching(/^erase-admin-/) },
    ]);

    /** Nothing of the erased users anywhere; alice and bob exactly as sent. */
    async function expectOnlyOthers(): Promise<void> {
      expect(await readingsVia(erased, erased)).toBe(0);
      expect(await seriesCount(erased, erased)).toBe(0);
      expect(await windowsVia(erased, erased)).toBe(0);
      expect(await alertsVia(erased, erased)).toBe(0);
      expect(await rollupOf(erased)).toBe(0);
      expect(await readingsVia(dora)).toBe(0);
      expect(await rollupOf(dora)).toBe(0);
      expect(await readingsVia(alice, alice)).toBe(sent[alice]!.length);
      expect(await seriesCount(alice, alice)).toBe(sent[alice]!.length);
      expect(await windowsVia(alice, alice)).toBe(windowsSent[alice]!.length);
      expect(await rollupOf(alice)).toBe(rollupRows(sent[alice]!));
      expect(await readingsVia(bob)).toBe(sent[bob]!.length);
      expect(await seriesCount(bob)).toBe(sent[bob]!.length);
      expect(await alertsVia(bob)).toBe(alertsSent[bob]!.length);
      expect(await rollupOf(bob)).toBe(rollupRows(sent[bob]!));
    }
    await expectOnlyOthers();

    // The aggregates are recomputed without the erased users, not served from the cache.
    const boardAfter = data(await gql<{ leaderboard: { userId: string }[] }>(LEADERBOARD, { f: FROM, t: TO }, 'admin'));
    expect(boardAfter.leaderboard.map((e) => e.userId).sort()).toEqual([alice, bob].sort());
    const cohortAfter = data(
      await gql<{ cohortStats: { count: number; users: number }[] }>(COHORT, { f: FROM, t: TO }, 'admin'),
    );
    expect(cohortAfter.cohortStats[0]).toEqual({
      count: heartRateOf(alice).length + heartRateOf(bob).length,
      users: 2,
    });

    // A new consumer group replays every topic from the beginning: the erased users stay erased.
    const replay = await startPipeline(replayGroup);
    await waitFor(
      () => {
        const w = replay.worker.stats();
        const h = replay.writer.stats();
        return (
          w.messages >= allReadings.length &&
          h.windowsStored + h.alertsStored + h.repeats + h.erased + h.malformed >= windowCount + alertCount
        );
      },
      { timeoutMs: 60_000, what: 'the replay of every topic' },
    );
    const w = replay.worker.stats();
    expect(w).toMatchObject({
      messages: allReadings.length,
      erased: sent[erased]!.length + sent[dora]!.length,
      duplicates: sent[alice]!.length + sent[bob]!.length,
      rowsInserted: 0,
      dlq: 0,
    });
    expect(replay.writer.stats()).toMatchObject({
      erased: windowsSent[erased]!.length + alertsSent[erased]!.length,
      repeats: windowsSent[alice]!.length + alertsSent[bob]!.length,
      windowsStored: 0,
      alertsStored: 0,
    });
    await expectOnlyOthers();

    // What the user sends after the erasure is stored as usual, even at the time of an erased reading.
    const again = { ...sent[erased]![0]!, value: 77 };
    data(await gql(INGEST, { r: [again] }, 'device'));
    await waitFor(async () => (await storedReadings(erased)) === 1, { what: 'the reading sent after the erasure' });
    const back = data(
      await gql<{ readings: { nodes: { time: string; value: number }[] } }>(
        READINGS,
        { u: erased, m: 'HEART_RATE', f: FROM, t: TO },
        erased,
      ),
    );
    expect(back.readings.nodes.map((r) => [Date.parse(r.time), r.value])).toEqual([[Date.parse(again.time), 77]]);
    expect(await seriesCount(erased, erased)).toBe(1);
    expect(await readingsVia(alice, alice)).toBe(sent[alice]!.length);

    // The gateway still holds the user's windows read from the topic for resumed subscriptions: a
    // subscription resumed from a cursor of before the erasure replays none of them, only what the
    // job publishes afterwards.
    const client = wsClient(gw.wsUrl, tokens[erased]!);
    try {
      const resumed = collectSubscription<ResumableWindowData>(client, RESUMABLE_WINDOWS_QUERY, {
        userId: erased,
        after: firstWindow!.cursor,
      });
      await waitFor(() => gw.gateway.services.live.stats().windowSubscribers >= 1, {
        what: 'the resumed subscription',
      });
      await produceJson(producer, env.KAFKA_PROCESSED_TOPIC, [windowV1(erased, 'heart_rate', T0 + 10 * 60_000, [90])]);
      await waitFor(() => resumed.data.length >= 1 || resumed.completed, { what: 'the window published afterwards' });
      expect(resumed.results.flatMap((r) => r.errors ?? [])).toEqual([]);
      expect(resumed.data.map((d) => d.metricWindows.windowStart)).toEqual([at(10, 0)]);
    } finally {
      await client.dispose();
    }
  }, 180_000);
});
