/**
 * The consumer worker against the real Kafka and Postgres: readings from a plain producer stored
 * exactly, duplicates counted once, malformed messages to the DLQ without stopping the worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createLogger } from '../../src/logger.js';
import { createConsumerWorker, type ConsumerWorker } from '../../src/consumer/worker.js';
import { insertIsolatingRefusals } from '../../src/consumer/readings.insert.js';
import type { ValidReading } from '../../src/domain/reading.js';
import { collect, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import {
  asMessage,
  countRows,
  createTopics,
  deleteRows,
  produce,
  reading,
  storedRows,
  testPool,
  workerConfig,
  type OutMessage,
  type TestReading,
  type Topics,
} from './consumer-fixtures.js';

const kafka = testKafka();
let topics: Topics;
let worker: ConsumerWorker;
let pool: pg.Pool;
const printed: string[] = [];
const users: string[] = [];
const user = (p: string) => {
  const u = uniqueId(p);
  users.push(u);
  return u;
};

beforeAll(async () => {
  topics = await createTopics(kafka);
  pool = testPool();
  const config = workerConfig(topics, uniqueId('g'));
  worker = createConsumerWorker({
    config,
    logger: createLogger(config, 'consumer-test'),
    print: (l) => printed.push(l),
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  if (pool) {
    await deleteRows(pool, users);
    await pool.end();
  }
  await topics?.remove();
});

describe('consumer worker', () => {
  it('prints the start lines of the original worker', () => {
    expect(printed).toEqual([
      'Connected to TimescaleDB',
      `Connected to Kafka topic: ${topics.topic}`,
      `Listening to Kafka topic: ${topics.topic}...`,
    ]);
    expect(worker.stats().phase).toBe('started');
  });

  it('stores readings from a plain producer exactly, with or without the schema-version header', async () => {
    const ids = [user('cu-a'), user('cu-b'), user('cu-c')];
    const metrics = ['heart_rate', 'steps', 'spo2', 'skin_temperature_delta'] as const;
    const sent: TestReading[] = [];
    ids.forEach((u, ui) => {
      for (let i = 0; i < 40; i += 1) {
        const metric = metrics[i % metrics.length]!;
        const value =
          metric === 'spo2' ? 95.5 : metric === 'skin_temperature_delta' ? -0.25 : metric === 'steps' ? i : 60 + i;
        const r = reading(u, i, { metric, value });
        if (i % 3 === 0) r.deviceId = `dev-${ui}`;
        // Text that array literals and JSON must carry through unchanged.
        if (i % 3 === 1)
          r.deviceId = ['NULL', 'a"b', 'c\\d', '{x, y}', ' padded ', 'charge 6 \u00e9\u2713', ''][(i + ui) % 7];
        if (i % 4 === 0) r.eventId = `evt-${u}-${i}`;
        // An offset other than Z: stored as the same instant.
        if (i === 7) r.time = '2026-01-01T01:00:07.123+01:00';
        sent.push(r);
      }
    });
    const messages: OutMessage[] = sent.map((r, i) => (i % 2 === 0 ? asMessage(r) : asMessage(r, {})));
    await produce(kafka, topics.topic, messages);

    await waitFor(async () => (await countRows(pool, ids)) === sent.length, {
      timeoutMs: 20_000,
      what: 'all readings stored',
    });
    const expected = sent
      .map((r) => ({
        userId: r.userId,
        metric: r.metric,
        time: new Date(r.time).toISOString(),
        value: r.value,
        deviceId: r.deviceId ?? null,
        eventId: r.eventId ?? null,
      }))
      .sort((a, b) => (a.userId + a.metric + a.time < b.userId + b.metric + b.time ? -1 : 1));
    expect(await storedRows(pool, ids)).toEqual(expected);
  });

  it('keeps the first reading of an identity and counts every repeat once as a duplicate', async () => {
    const u = user('cu-dup');
    const before = worker.stats();
    const originals = Array.from({ length: 20 }, (_, i) => reading(u, i, { value: 70 }));
    // Repeats in the same send (usually the same batch) with other values: the first still wins.
    const repeats = originals.slice(0, 5).map((r) => ({ ...r, value: 99 }));
    await produce(
      kafka,
      topics.topic,
      [...originals, ...repeats].map((r) => asMessage(r)),
    );
    await waitFor(async () => (await countRows(pool, [u])) === 20, { what: 'originals stored' });
    await waitFor(() => worker.stats().duplicates - before.duplicates === 5, { what: 'in-batch repeats counted' });

    // The same identities again later, as a replay or a second producer would send them.
    await produce(
      kafka,
      topics.topic,
      originals.slice(0, 10).map((r) => asMessage({ ...r, value: 120 })),
    );
    await waitFor(() => worker.stats().duplicates - before.duplicates === 15, { what: 'replayed repeats counted' });

    const after = worker.stats();
    expect(after.rowsInserted - before.rowsInserted).toBe(20);
    expect(after.dlq - before.dlq).toBe(0);
    const rows = await storedRows(pool, [u]);
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((r) => r.value))).toEqual(new Set([70]));
  });

  it('sends malformed messages to the DLQ with their code and keeps consuming the partition', async () => {
    const u = user('cu-bad');
    const ok = (i: number) => asMessage(reading(u, i));
    const bad = (
      caseName: string,
      value: string | Buffer | null,
      headers: Record<string, string> = {},
    ): OutMessage => ({
      key: u,
      value,
      headers: { case: caseName, ...headers },
    });
    const json = (o: object) => JSON.stringify(o);
    const r = reading(u, 100);
    const cases: [OutMessage, string][] = [
      [bad('not-json', 'not json {'), 'INVALID_JSON'],
      [bad('empty', Buffer.alloc(0)), 'INVALID_JSON'],
      [bad('array', '[1,2]'), 'INVALID_FIELD'],
      [bad('missing-value', json({ userId: u, metric: 'heart_rate', time: r.time })), 'INVALID_FIELD'],
      [bad('value-string', json({ ...r, value: '72' })), 'INVALID_FIELD'],
      [bad('time-number', json({ ...r, time: 1767225600000 })), 'INVALID_FIELD'],
      [bad('unknown-metric', json({ ...r, metric: 'blood_pressure' })), 'INVALID_METRIC'],
      [bad('out-of-range', json({ ...r, value: 400 })), 'VALUE_OUT_OF_RANGE'],
      [bad('future', json({ ...r, time: new Date(Date.now() + 3_600_000).toISOString() })), 'TIME_IN_FUTURE'],
      [bad('bad-time', json({ ...r, time: 'yesterday' })), 'INVALID_TIME'],
      [bad('bad-user', json({ ...r, userId: 'not a user!' })), 'INVALID_USER_ID'],
      [bad('nul-device', json({ ...r, deviceId: 'a\u0000b' })), 'INVALID_FIELD'],
      [bad('schema-v2', json(r), { 'schema-version': '2' }), 'UNSUPPORTED_SCHEMA_VERSION'],
    ];
    // Valid readings before, between and after the bad ones, all on the same key (one partition).
    const first: OutMessage[] = [ok(0)];
    cases.forEach(([m], i) => first.push(m, ok(i + 1)));
    const before = worker.stats();
    await produce(kafka, topics.topic, first);

    const dead = await collect(
      kafka,
      topics.dlqTopic,
      [{ partition: 0, offset: '0' }],
      (m) => m.key === u,
      (all) => all.length >= cases.length,
      20_000,
    );
    expect(dead).toHaveLength(cases.length);
    const byCase = new Map(dead.map((d) => [d.headers.case, d]));
    for (const [sent, code] of cases) {
      const got = byCase.get((sent.headers as Record<string, string>).case);
      expect(got, `DLQ message for ${String((sent.headers as Record<string, string>).case)}`).toBeDefined();
      expect(got!.headers['error-code']).toBe(code);
      expect(got!.headers['error-message']?.length).toBeGreaterThan(0);
      expect(got!.headers['source-topic']).toBe(topics.topic);
      expect(got!.headers['source-partition']).toMatch(/^\d+$/);
      expect(got!.headers['source-offset']).toMatch(/^\d+$/);
      expect(got!.value ?? '').toBe(sent.value === null ? '' : sent.value.toString());
    }
    expect(new Set(dead.map((d) => d.headers['source-offset'])).size).toBe(cases.length);
    expect(new Set(dead.map((d) => d.headers['source-partition'])).size).toBe(1);

    // The partition was not blocked: valid readings around and after the bad ones are stored.
    await produce(kafka, topics.topic, [ok(50), ok(51)]);
    await waitFor(async () => (await countRows(pool, [u])) === cases.length + 1 + 2, { what: 'valid readings stored' });
    expect(worker.stats().dlq - before.dlq).toBe(cases.length);
  });

  it('isolates a row the database refuses and stores the rest of its batch', async () => {
    const u = user('cu-refused');
    const rows: ValidReading[] = Array.from({ length: 10 }, (_, i) => ({
      userId: u,
      metric: 'steps',
      timeMs: Date.UTC(2026, 0, 1) + i * 1000,
      value: i,
      deviceId: undefined,
      eventId: undefined,
    }));
    // Postgres text cannot hold U+0000 (the decoder refuses it first; this is the net behind it).
    rows[6] = { ...rows[6]!, deviceId: 'bad\u0000device' };
    const result = await insertIsolatingRefusals(pool, rows, (r) => r);
    expect(result.inserted).toBe(9);
    expect(result.refused.map((r) => r.item)).toEqual([rows[6]]);
    expect((result.refused[0]!.error as { code?: string }).code).toMatch(/^22/);
    expect(await countRows(pool, [u])).toBe(9);
  });
});
