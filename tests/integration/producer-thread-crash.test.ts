/**
 * The producer thread dies while publishes wait on it (terminated under a continuous load, the way
 * an uncaught error or an out-of-memory abort would end it). Pass: every publish that was waiting
 * fails with KAFKA_UNAVAILABLE at once; the next publish starts a new thread and is acknowledged;
 * every reading of a publish that resolved is on the topic (nothing reported accepted that Kafka
 * did not take). Real Kafka, a private topic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { AppError } from '../../src/errors.js';
import type { ValidReading } from '../../src/domain/reading.js';
import { createThreadedReadingPublisher, type ThreadedReadingPublisher } from '../../src/ingest/threaded.publisher.js';
import { collect, createTopics, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const ACK_TIMEOUT_MS = 5000;
const LOOPS = 4;
const BATCH = 200;

const id = uniqueId('producer-thread');
const topic = `${id}-ingestion`;

type Outcome = { ok: true; eventIds: string[] } | { ok: false; code: string; ms: number };

describe('producer thread dies mid-flight', () => {
  const kafka = testKafka();
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'error' });
  let publisher: ThreadedReadingPublisher;

  beforeAll(async () => {
    await createTopics(kafka, [topic], 6);
    publisher = createThreadedReadingPublisher({
      kafka: config.kafka,
      log: config,
      topic,
      logger: createLogger(config, 'producer-thread-test'),
      ackTimeoutMs: ACK_TIMEOUT_MS,
    });
    await publisher.start();
  });

  afterAll(async () => {
    await publisher?.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  let seq = 0;
  const base = Date.now() - 3_600_000;
  const batch = (): ValidReading[] =>
    Array.from({ length: BATCH }, () => {
      const n = seq++;
      return {
        eventId: undefined,
        userId: `${id}-u${n % 7}`,
        metric: 'heart_rate',
        timeMs: base + n,
        value: 60 + (n % 40),
        deviceId: n % 2 === 0 ? 'charge6' : undefined,
      };
    });
  const settle = async (p: Promise<string[]>): Promise<Outcome> => {
    const started = Date.now();
    try {
      return { ok: true, eventIds: await p };
    } catch (err) {
      return {
        ok: false,
        code: err instanceof AppError ? err.code : `not an AppError: ${String(err)}`,
        ms: Date.now() - started,
      };
    }
  };

  it('fails the waiting publishes with KAFKA_UNAVAILABLE, recovers on the next publish, and loses nothing accepted', async () => {
    const outcomes: Outcome[] = [];
    let running = true;
    const loops = Array.from({ length: LOOPS }, async () => {
      while (running) outcomes.push(await settle(publisher.publish(batch())));
    });
    const accepted = () => outcomes.filter((o) => o.ok).length;

    try {
      await waitFor(() => accepted() >= 20, { timeoutMs: 30_000, what: '20 publishes acknowledged before the kill' });
      const dying: Worker = publisher.thread!;
      expect(dying).toBeDefined();
      // A publish posted to the thread and not answered: the kill is certainly mid-flight for it.
      const victim = settle(publisher.publish(batch()));
      await dying.terminate();
      const victimOutcome = await victim;
      expect(victimOutcome).toMatchObject({ ok: false, code: 'KAFKA_UNAVAILABLE' });
      // Failed at the thread's exit, not by the ack timeout.
      expect(victimOutcome.ok === false && victimOutcome.ms).toBeLessThan(ACK_TIMEOUT_MS);

      const after = accepted();
      await waitFor(() => accepted() >= after + 20, {
        timeoutMs: 30_000,
        what: '20 publishes acknowledged after the kill',
      });
      expect(publisher.thread).toBeDefined();
      expect(publisher.thread).not.toBe(dying);
    } finally {
      running = false;
      await Promise.all(loops);
    }

    const failures = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    for (const f of failures) expect(f.code).toBe('KAFKA_UNAVAILABLE');

    // Every reading of every acknowledged publish is on the topic.
    const want = new Set(outcomes.flatMap((o) => (o.ok ? o.eventIds : [])));
    const seen = new Set<string>();
    await collect(
      kafka,
      topic,
      Array.from({ length: 6 }, (_, partition) => ({ partition, offset: '0' })),
      (m) => {
        const eventId = (JSON.parse(m.value ?? '{}') as { eventId?: string }).eventId;
        if (eventId !== undefined && want.has(eventId)) seen.add(eventId);
        return false;
      },
      () => seen.size === want.size,
    );
    expect(seen.size).toBe(want.size);
    console.log(
      `producer-thread-crash: ${JSON.stringify({ publishes: outcomes.length + 1, failed: failures.length + 1, readingsAccepted: want.size })}`,
    );
  });
});
