/**
 * Scaling out on one stack: two gateway processes and two consumer worker processes, started as in
 * production (`tsx src/gateway/main.ts`, `tsx src/consumer/main.ts`), on private topics (ingestion
 * with 6 partitions, DLQ, processed, alerts) and a private worker group.
 *
 * - Readings go in through both gateways at once, some of them through both; every accepted
 *   identity ends up in `readings` exactly once, nothing else does, and the two workers shared the
 *   partitions and the inserts between them.
 * - Subscribers on both gateways (one user on both) receive every window of their user and no
 *   other user's: each instance's live consumer reads the whole processed topic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Client } from 'graphql-ws';
import { loadConfig } from '../../src/config.js';
import { freePort, scrape, startService, type ServiceProcess } from '../../bench/lib/processes.js';
import {
  collectSubscription,
  connectedProducer,
  produceJson,
  windowV1,
  wsClient,
  WINDOWS_QUERY,
  type Collected,
  type WindowData,
} from '../helpers/live.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const id = uniqueId('scale');
const topics = {
  KAFKA_TOPIC: `${id}-ingestion`,
  KAFKA_DLQ_TOPIC: `${id}-dlq`,
  KAFKA_PROCESSED_TOPIC: `${id}-processed`,
  KAFKA_ALERTS_TOPIC: `${id}-alerts`,
};
const env = { ...topics, KAFKA_CONSUMER_GROUP: `${id}-writers`, GRAPHIQL: 'false', AUTH_MODE: 'development' };
const userPrefix = `${id}-u`;
const USERS = 20;
const INGEST = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted rejected{index code}}}';

interface Reading {
  userId: string;
  metric: 'HEART_RATE' | 'STEPS';
  time: string;
  value: number;
}
const identity = (r: { userId: string; metric: string; time: string }): string =>
  `${r.userId}|${r.metric.toLowerCase()}|${r.time}`;

describe('two gateways and two workers on one stack', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  const config = loadConfig();
  const db = new pg.Pool({ connectionString: config.postgres.url, max: 2 });
  const gateways: ServiceProcess[] = [];
  const workers: ServiceProcess[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.KAFKA_TOPIC, numPartitions: 6, replicationFactor: 1 },
        { topic: topics.KAFKA_DLQ_TOPIC, numPartitions: 1, replicationFactor: 1 },
        { topic: topics.KAFKA_PROCESSED_TOPIC, numPartitions: 6, replicationFactor: 1 },
        { topic: topics.KAFKA_ALERTS_TOPIC, numPartitions: 1, replicationFactor: 1 },
      ],
    });
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const started = await Promise.all([
      startService({ name: 'gateway-a', script: 'src/gateway/main.ts', port: ports[0]!, env }),
      startService({ name: 'gateway-b', script: 'src/gateway/main.ts', port: ports[1]!, env }),
      startService({ name: 'worker-a', script: 'src/consumer/main.ts', port: ports[2]!, env }),
      startService({ name: 'worker-b', script: 'src/consumer/main.ts', port: ports[3]!, env }),
    ]);
    gateways.push(started[0], started[1]);
    workers.push(started[2], started[3]);
    // The group has settled once the two workers hold all six partitions between them, each some.
    await waitFor(
      async () => {
        const held = await Promise.all(workers.map((w) => scrape(w.base, 'fitbit_consumer_assigned_partitions')));
        return held[0]! + held[1]! === 6 && held.every((n) => n > 0);
      },
      { timeoutMs: 45_000, what: 'six partitions shared by the two workers' },
    );
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await Promise.all([...gateways, ...workers].map((p) => p.stop()));
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.deleteGroups([env.KAFKA_CONSUMER_GROUP]).catch(() => undefined);
    await admin.disconnect();
    await db.query('DELETE FROM readings WHERE user_id LIKE $1', [`${userPrefix}%`]);
    await db.end();
  }, 60_000);

  it('stores every reading accepted by either gateway exactly once', async () => {
    const base = Date.parse('2026-10-01T00:00:00.000Z');
    let seq = 0;
    const next = (): Reading => {
      const n = seq++;
      return {
        userId: `${userPrefix}${n % USERS}`,
        metric: n % 3 === 0 ? 'STEPS' : 'HEART_RATE',
        time: new Date(base + n * 1000).toISOString(),
        value: n % 3 === 0 ? n % 100 : 60 + (n % 50),
      };
    };
    const batches = (count: number, size: number) =>
      Array.from({ length: count }, () => Array.from({ length: size }, next));
    // Eight batches of 250 per gateway, plus one batch sent through both (same identities, same values).
    const perGateway = [batches(8, 250), batches(8, 250)];
    const shared = batches(1, 200)[0]!;
    // One reading no gateway may accept: its value is out of range.
    perGateway[0]![0]!.push({
      userId: `${userPrefix}0`,
      metric: 'HEART_RATE',
      time: new Date(base - 1000).toISOString(),
      value: 999,
    });

    const post = async (gw: ServiceProcess, readings: Reading[]) => {
      const res = await fetch(`${gw.base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: INGEST, variables: { r: readings } }),
      });
      const body = (await res.json()) as {
        data?: { ingestReadings: { accepted: number; rejected: { index: number; code: string }[] } };
        errors?: unknown;
      };
      expect(body.errors).toBeUndefined();
      const rejected = new Set(body.data!.ingestReadings.rejected.map((r) => r.index));
      return {
        accepted: readings.filter((_, i) => !rejected.has(i)),
        count: body.data!.ingestReadings.accepted,
        rejected: body.data!.ingestReadings.rejected,
      };
    };
    const answers = await Promise.all([
      ...perGateway[0]!.map((b) => post(gateways[0]!, b)),
      ...perGateway[1]!.map((b) => post(gateways[1]!, b)),
      post(gateways[0]!, shared),
      post(gateways[1]!, shared),
    ]);
    const rejected = answers.flatMap((a) => a.rejected);
    expect(rejected).toEqual([{ index: 250, code: 'VALUE_OUT_OF_RANGE' }]);
    const acceptedCount = answers.reduce((n, a) => n + a.count, 0);
    expect(acceptedCount).toBe(16 * 250 + 2 * 200);
    const expected = new Map<string, number>();
    for (const a of answers) for (const r of a.accepted) expected.set(identity(r), r.value);
    expect(expected.size).toBe(16 * 250 + 200);

    const stored = await waitFor(
      async () => {
        const { rows } = await db.query<{ user_id: string; metric: string; time: Date; value: number; copies: number }>(
          `SELECT user_id, metric, time, min(value) AS value, count(*)::int AS copies
             FROM readings WHERE user_id LIKE $1 GROUP BY user_id, metric, time`,
          [`${userPrefix}%`],
        );
        return rows.length >= expected.size ? rows : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 300, what: `${expected.size} identities stored` },
    );
    expect(stored.filter((r) => r.copies !== 1)).toEqual([]);
    const storedMap = new Map(
      stored.map((r) => [identity({ userId: r.user_id, metric: r.metric, time: r.time.toISOString() }), r.value]),
    );
    expect([...storedMap.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, v] of expected) expect(storedMap.get(k), k).toBe(v);

    // Both workers did part of the work, and together inserted each identity once: the shared batch's
    // second copies were recognised as duplicates, not written again.
    const counts = await waitFor(
      async () => {
        const inserted = await Promise.all(workers.map((w) => scrape(w.base, 'fitbit_consumer_rows_inserted_total')));
        const duplicates = await Promise.all(workers.map((w) => scrape(w.base, 'fitbit_consumer_duplicates_total')));
        return inserted[0]! + inserted[1]! === expected.size && duplicates[0]! + duplicates[1]! >= 200
          ? { inserted, duplicates }
          : undefined;
      },
      { timeoutMs: 15_000, what: 'worker counters' },
    );
    expect(counts.inserted.every((n) => n > 0)).toBe(true);
  }, 60_000);

  it("delivers each user's windows to that user's subscribers on both gateways, and only those", async () => {
    const [a, b] = gateways as [ServiceProcess, ServiceProcess];
    const wsOf = (gw: ServiceProcess) => {
      const c = wsClient(`${gw.base.replace(/^http/, 'ws')}/graphql`);
      clients.push(c);
      return c;
    };
    const ca = wsOf(a);
    const cb = wsOf(b);
    const users = { shared: `${id}-live-shared`, onlyA: `${id}-live-a`, onlyB: `${id}-live-b` };
    const subs: { user: string; gateway: string; s: Collected<WindowData> }[] = [
      {
        user: users.shared,
        gateway: 'a',
        s: collectSubscription<WindowData>(ca, WINDOWS_QUERY, { userId: users.shared }),
      },
      {
        user: users.onlyA,
        gateway: 'a',
        s: collectSubscription<WindowData>(ca, WINDOWS_QUERY, { userId: users.onlyA }),
      },
      {
        user: users.shared,
        gateway: 'b',
        s: collectSubscription<WindowData>(cb, WINDOWS_QUERY, { userId: users.shared }),
      },
      {
        user: users.onlyB,
        gateway: 'b',
        s: collectSubscription<WindowData>(cb, WINDOWS_QUERY, { userId: users.onlyB }),
      },
    ];
    await waitFor(
      async () =>
        (await scrape(a.base, 'fitbit_live_subscriptions')) === 2 &&
        (await scrape(b.base, 'fitbit_live_subscriptions')) === 2,
      { timeoutMs: 15_000, what: 'two subscriptions registered on each gateway' },
    );

    const producer = await connectedProducer(kafka);
    try {
      const start = Date.parse('2026-10-02T00:00:00.000Z');
      // Three windows per user, interleaved across users, plus a user nobody subscribed to.
      const events = [0, 1, 2].flatMap((k) =>
        [users.shared, users.onlyA, users.onlyB, `${id}-live-nobody`].map((u, j) =>
          windowV1(u, 'heart_rate', start + k * 60_000, [60 + j, 70 + k]),
        ),
      );
      await produceJson(producer, topics.KAFKA_PROCESSED_TOPIC, events);
      await waitFor(() => subs.every((x) => x.s.data.length >= 3), {
        timeoutMs: 20_000,
        what: 'three windows on every subscription',
      });
      for (const { user, gateway, s } of subs) {
        expect(s.error, `${user} on ${gateway}`).toBeUndefined();
        const got = s.data.map((d) => d.metricWindows);
        expect(
          got.map((w) => w.userId),
          `${user} on ${gateway}`,
        ).toEqual([user, user, user]);
        expect(got.map((w) => w.windowStart)).toEqual([0, 1, 2].map((k) => new Date(start + k * 60_000).toISOString()));
      }
      // Both copies of the shared user's stream carry the same windows.
      expect(subs[0]!.s.data).toEqual(subs[2]!.s.data);
    } finally {
      await producer.disconnect();
      for (const x of subs) x.s.unsubscribe();
    }
  }, 40_000);
});
