/**
 * eraseUserData against the real stack: a worker stores two users' readings from a fresh topic,
 * one user is erased through a real gateway, and then a new consumer group replays the topic
 * from the beginning. Nothing of the erased user comes back (readings, rollup, series), the other
 * user is intact, and readings the erased user sends afterwards are stored normally. Every count
 * is this file's own arithmetic over what it sent.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/sign.js';
import { createConsumerWorker, type ConsumerWorker } from '../../src/consumer/worker.js';
import { createLogger } from '../../src/logger.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import {
  asMessage,
  countRows,
  createTopics,
  produce,
  reading,
  storedRows,
  testPool,
  workerConfig,
  type Topics,
} from './consumer-fixtures.js';

const SECRET = 'erasure-secret-0123456789-abcdefghijklm';
const ERASE = /* GraphQL */ `
  mutation Erase($u: ID!) {
    eraseUserData(userId: $u) {
      userId
      erasedAt
      stores {
        store
        removed
      }
    }
  }
`;
const SERIES = /* GraphQL */ `
  query S($u: ID!, $from: DateTime!, $to: DateTime!) {
    series(userId: $u, metric: HEART_RATE, from: $from, to: $to, bucket: MINUTE) {
      time
      count
    }
  }
`;

describe('erasure of a user, then a replay by a new consumer group', () => {
  const kafka = testKafka();
  let topics: Topics;
  let pool: pg.Pool;
  let gw: TestGateway;
  const workers: ConsumerWorker[] = [];
  const erased = uniqueId('erase-me');
  const kept = uniqueId('erase-keep');
  const N = 150;
  const before = [erased, kept].flatMap((u) => Array.from({ length: N }, (_, i) => reading(u, i)));

  const startWorker = async (group: string) => {
    const config = workerConfig(topics, group);
    const w = createConsumerWorker({ config, logger: createLogger(config, group), print: () => undefined });
    workers.push(w);
    await w.start();
    return w;
  };
  const minuteRows = async (u: string) =>
    Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM readings_minute WHERE user_id = $1', [u])).rows[0]!.n);

  beforeAll(async () => {
    topics = await createTopics(kafka);
    pool = testPool();
    gw = await startGateway({ KAFKA_TOPIC: topics.topic, KAFKA_DLQ_TOPIC: topics.dlqTopic, AUTH_JWT_SECRET: SECRET });
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = ANY($1)', [[erased, kept]]);
    await pool?.query('DELETE FROM erasure_ledger WHERE user_id = $1', [erased]);
    await pool?.end();
    await topics?.remove();
  });

  it('removes the user everywhere, keeps it out on replay, and stores what comes after', async () => {
    const first = await startWorker(uniqueId('g-first'));
    await produce(kafka, topics.topic, before.map((r) => asMessage(r)));
    await waitFor(async () => (await countRows(pool, [erased, kept])) === 2 * N, { what: 'both users stored' });
    const keptBefore = await storedRows(pool, [kept]);
    const range = { from: before[0]!.time, to: new Date(Date.parse(before[N - 1]!.time) + 60_000).toISOString() };
    const minutes = new Set(before.slice(0, N).map((r) => Math.floor(Date.parse(r.time) / 60_000))).size;
    expect(await minuteRows(erased)).toBe(minutes);

    // Only the user themself or an admin may erase.
    const stranger = await signToken({ sub: kept, roles: ['user'] }, { secret: SECRET });
    const refused = await gw.gql(ERASE, { u: erased }, { authorization: `Bearer ${stranger}` });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await countRows(pool, [erased])).toBe(N);

    const self = await signToken({ sub: erased, roles: ['user'] }, { secret: SECRET });
    const res = await gw.gql<{ eraseUserData: { userId: string; stores: { store: string; removed: number }[] } }>(
      ERASE,
      { u: erased },
      { authorization: `Bearer ${self}` },
    );
    expect(res.errors).toBeUndefined();
    const removed = Object.fromEntries(res.data!.eraseUserData.stores.map((s) => [s.store, s.removed]));
    expect(removed['readings']).toBe(N);
    expect(removed['readings_minute']).toBe(minutes);
    expect(removed).toHaveProperty('erasure_ledger');
    expect(removed).toHaveProperty('trino_result_cache');

    expect(await countRows(pool, [erased])).toBe(0);
    expect(await minuteRows(erased)).toBe(0);
    const series = await gw.gql<{ series: unknown[] }>(SERIES, { u: erased, ...range });
    expect(series.data?.series).toEqual([]);
    expect(await storedRows(pool, [kept])).toEqual(keptBefore);
    await first.stop();

    // A new group reads the whole topic again: the erased user's old messages stay out.
    const replay = await startWorker(uniqueId('g-replay'));
    await waitFor(() => replay.stats().messages >= 2 * N, { timeoutMs: 60_000, what: 'the replay read every message' });
    expect(await countRows(pool, [erased])).toBe(0);
    expect(await minuteRows(erased)).toBe(0);
    expect(await storedRows(pool, [kept])).toEqual(keptBefore);
    expect(replay.stats().rowsInserted).toBe(0);

    // What the user sends after the erasure is stored normally, by the same replaying group.
    const after = Array.from({ length: 20 }, (_, i) => reading(erased, N + 100 + i, { value: 111 }));
    await produce(kafka, topics.topic, after.map((r) => asMessage(r)));
    await waitFor(async () => (await countRows(pool, [erased])) === after.length, { what: 'new readings stored' });
    const stored = await storedRows(pool, [erased]);
    expect(stored.map((r) => [new Date(r.time).toISOString(), r.value])).toEqual(after.map((r) => [r.time, 111]));
  });
});
