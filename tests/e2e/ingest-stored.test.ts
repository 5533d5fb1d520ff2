/**
 * What ingestReadings accepts is what gets stored. A corpus of batches (edge-case timestamps,
 * offsets, impossible dates, in-batch duplicates, values at the edges, a seeded random part) goes
 * through a real gateway to Kafka and a real worker into Postgres. For every batch, `accepted -
 * duplicates` equals the rows the table gains for it, and the worker sends nothing the gateway
 * acknowledged to the dead-letter topic.
 *
 * INGEST_CORPUS_SEED=<n> replays another random part; the seed is printed on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createLogger } from '../../src/logger.js';
import { seededRandom } from '../../src/demo/signals.js';
import { createConsumerWorker, type ConsumerWorker } from '../../src/consumer/worker.js';
import { startLiveGateway, type LiveGateway } from '../helpers/live.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import {
  countRows,
  createTopics,
  deleteRows,
  storedRows,
  testPool,
  workerConfig,
  type Topics,
} from '../integration/consumer-fixtures.js';

const SEED = Number(process.env['INGEST_CORPUS_SEED'] ?? 20261129);
const INGEST = `mutation I($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted duplicates rejected { index code } } }`;

interface Input {
  userId: string;
  metric: string;
  time: string;
  value: number;
  deviceId?: string;
}
interface Batch {
  name: string;
  readings: Input[];
  /** Codes of the readings expected to be rejected, by index (checked when given). */
  rejected?: Record<number, string>;
  duplicates?: number;
  /** The code the whole request is refused with (a time that is not a DateTime fails its variable). */
  error?: string;
}

function corpus(prefix: string): Batch[] {
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  let n = 0;
  const user = () => `${prefix}-${(n += 1)}`;
  const batches: Batch[] = [];
  const add = (name: string, make: (u: string) => Omit<Batch, 'name'>) => batches.push({ name, ...make(user()) });
  const hr = (userId: string, time: string, value = 70, metric = 'HEART_RATE'): Input => ({
    userId,
    metric,
    time,
    value,
  });

  add('one valid reading', (u) => ({ readings: [hr(u, ago(60_000))] }));
  add('two readings in one millisecond', (u) => ({
    readings: [hr(u, '2026-01-01T00:00:00.0004Z', 60), hr(u, '2026-01-01T00:00:00.0009Z', 61)],
    duplicates: 1,
  }));
  add('UTC year -1 beside a valid one', (u) => ({
    readings: [hr(u, '0000-01-01T00:30:00+01:00'), hr(u, ago(1000))],
    rejected: { 0: 'INVALID_TIME' },
  }));
  add('February 30th beside a valid one', (u) => ({
    readings: [hr(u, ago(2000)), hr(u, '2024-02-30T00:00:00Z')],
    error: 'INVALID_TIME',
  }));
  add('hour 24', (u) => ({ readings: [hr(u, '2026-01-01T24:00:00Z')], error: 'INVALID_TIME' }));
  add('a leap day and the epoch', (u) => ({
    readings: [hr(u, '2024-02-29T12:00:00Z'), hr(u, '1970-01-01T00:00:00Z')],
  }));
  add('before the epoch', (u) => ({ readings: [hr(u, '1969-12-31T23:59:59.999Z')], rejected: { 0: 'INVALID_TIME' } }));
  add('one instant in two offsets', (u) => ({
    readings: [hr(u, '2026-01-01T00:30:00+01:00'), hr(u, '2025-12-31T23:30:00Z'), hr(u, '2025-12-31T18:30:00-05:00')],
    duplicates: 2,
  }));
  add('a little and too far in the future', (u) => ({
    readings: [
      hr(u, new Date(Date.now() + 60_000).toISOString()),
      hr(u, new Date(Date.now() + 3_600_000).toISOString()),
    ],
    rejected: { 1: 'TIME_IN_FUTURE' },
  }));
  add('sub-millisecond fractions', (u) => ({
    readings: [
      hr(u, '2026-01-02T00:00:00.123456Z'),
      hr(u, '2026-01-02T00:00:00.123999Z'),
      hr(u, '2026-01-02T00:00:00.124Z'),
    ],
    duplicates: 1,
  }));
  add('one identity, other metrics', (u) => ({
    readings: [
      hr(u, '2026-01-03T00:00:00Z', 70),
      { ...hr(u, '2026-01-03T00:00:00Z', 100), metric: 'STEPS' },
      { ...hr(u, '2026-01-03T00:00:00Z', 97), metric: 'SPO2' },
    ],
  }));
  add('values at the edges of their ranges', (u) => ({
    readings: [hr(u, ago(5000), 20), hr(u, ago(6000), 250), hr(u, ago(7000), 19), hr(u, ago(8000), 251)],
    rejected: { 2: 'VALUE_OUT_OF_RANGE', 3: 'VALUE_OUT_OF_RANGE' },
  }));
  add('a device id in any script', (u) => ({ readings: [{ ...hr(u, ago(9000)), deviceId: "o'brien's ⌚ 😀" }] }));
  add('a hostile but valid user id', () => ({ readings: [hr(`${prefix}-o.brien@x:1_-`, ago(10_000))] }));

  // The random part: batches that mix valid readings, repeats of them, and invalid ones.
  const r = seededRandom(SEED);
  for (let b = 0; b < 25; b += 1) {
    const users = [user(), user()];
    const base = Date.UTC(2026, 0, 5) + b * 3_600_000;
    const readings: Input[] = [];
    for (let i = 0; i < 1 + Math.floor(r() * 60); i += 1) {
      const pick = r();
      if (pick < 0.25 && readings.length > 0) {
        readings.push({ ...readings[Math.floor(r() * readings.length)]! }); // an exact repeat
      } else if (pick < 0.35) {
        // Parsed as DateTimes but refused by the reading rules: before the epoch, or out of range.
        readings.push(
          r() < 0.5 ? hr(users[0]!, '0000-06-01T00:00:00Z') : hr(users[0]!, new Date(base).toISOString(), 400),
        );
      } else {
        const t = base + Math.floor(r() * 600) * 1000;
        readings.push(hr(users[Math.floor(r() * 2)]!, new Date(t).toISOString(), 40 + Math.floor(r() * 100)));
      }
    }
    batches.push({ name: `random ${b}`, readings });
  }
  return batches;
}

describe(`ingest corpus: what is accepted is stored (seed ${SEED})`, () => {
  let gw: LiveGateway;
  let kafka: Kafka;
  let topics: Topics;
  let worker: ConsumerWorker;
  const pool = testPool();
  const prefix = uniqueId('stored');

  beforeAll(async () => {
    kafka = testKafka();
    topics = await createTopics(kafka, 3);
    gw = await startLiveGateway({ KAFKA_TOPIC: topics.topic });
    const config = workerConfig(topics, uniqueId('stored-group'));
    worker = createConsumerWorker({ config, logger: createLogger(config, 'stored-worker'), print: () => undefined });
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await gw?.stop();
    await topics?.remove();
    await pool.end();
  });

  it('every batch adds accepted - duplicates rows, and nothing acknowledged reaches the DLQ', async () => {
    const batches = corpus(prefix);
    const answers: {
      batch: Batch;
      accepted: number;
      duplicates: number;
      rejected: { index: number; code: string }[];
    }[] = [];
    for (const batch of batches) {
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: INGEST, variables: { r: batch.readings } }),
      });
      const body = (await res.json()) as {
        data?: {
          ingestReadings: { accepted: number; duplicates: number; rejected: { index: number; code: string }[] };
        };
        errors?: unknown[];
      };
      if (body.errors) {
        // Refused whole: nothing of it is acknowledged, so nothing of it may be stored.
        expect(
          (body.errors as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code),
          `${batch.name}: ${JSON.stringify(body.errors).slice(0, 300)}`,
        ).toEqual([batch.error ?? 'an accepted batch']);
        answers.push({
          batch,
          accepted: 0,
          duplicates: 0,
          rejected: batch.readings.map((_, index) => ({ index, code: batch.error! })),
        });
        continue;
      }
      answers.push({ batch, ...body.data!.ingestReadings });
    }

    for (const a of answers) {
      expect(a.accepted + a.rejected.length, a.batch.name).toBe(a.batch.readings.length);
      if (a.batch.rejected)
        expect(Object.fromEntries(a.rejected.map((x) => [x.index, x.code])), a.batch.name).toEqual(a.batch.rejected);
      if (a.batch.duplicates !== undefined) expect(a.duplicates, a.batch.name).toBe(a.batch.duplicates);
    }

    const usersOf = (b: Batch) => [...new Set(b.readings.map((r) => r.userId))];
    const allUsers = [...new Set(batches.flatMap(usersOf))];
    const expected = answers.reduce((n, a) => n + a.accepted - a.duplicates, 0);
    await waitFor(async () => (await countRows(pool, allUsers)) >= expected, {
      timeoutMs: 60_000,
      what: `${expected} rows stored`,
    });
    // Settle: a late extra row would show up here.
    await new Promise((r) => setTimeout(r, 2000));
    expect(worker.stats().dlq).toBe(0);

    const mismatches: string[] = [];
    for (const a of answers) {
      const gained = await countRows(pool, usersOf(a.batch));
      if (gained !== a.accepted - a.duplicates)
        mismatches.push(`${a.batch.name}: accepted ${a.accepted} - duplicates ${a.duplicates}, table gained ${gained}`);
    }
    expect(mismatches, `seed ${SEED}`).toEqual([]);

    // Of two readings in one millisecond, the first is the one stored.
    const twin = answers.find((a) => a.batch.name === 'two readings in one millisecond')!;
    const rows = await storedRows(pool, usersOf(twin.batch));
    expect(rows.map((r) => [r.time, r.value])).toEqual([['2026-01-01T00:00:00.000Z', 60]]);
    await deleteRows(pool, allUsers);
  });
});
