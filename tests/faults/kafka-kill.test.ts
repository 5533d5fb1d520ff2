/**
 * The Kafka broker killed with SIGKILL (no flush, no deregistration) and started again while three
 * clients keep ingesting through a gateway on a private topic. Pass: every reading of a mutation
 * that answered `accepted` is on the topic afterwards; every mutation that did not succeed failed
 * with KAFKA_UNAVAILABLE or KAFKA_TIMEOUT within the configured ack timeout (plus a small slack);
 * no request hung. This file stops the stack's own Kafka and restarts it in afterAll whatever
 * happened; vitest runs files one at a time, so no other file sees the outage.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafka as kafkaService } from '../../stack/services/kafka.js';
import { runningPid } from '../../stack/lib/process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { collect, createTopics, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { faultStackContext, networkCause, restore, tally, type Outcome } from '../helpers/faults.js';

const INGEST = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted rejected{index code}}}';
const ACK_TIMEOUT_MS = 3000;
/** Allowed on top of the ack timeout: GraphQL execution, JSON and the loopback round trip. */
const SLACK_MS = 1500;
const CLIENTS = 3;
const BATCH = 10;

const id = uniqueId('kafka-kill');
const topic = `${id}-ingestion`;
const userPrefix = `${id}-u`;

interface Sent {
  outcome: Outcome;
  eventIds: string[];
  startedAt: number;
}

describe('Kafka broker SIGKILLed during continuous ingest', () => {
  const ctx = faultStackContext();
  const kafka = testKafka();
  let gw: TestGateway;

  beforeAll(async () => {
    await createTopics(kafka, [topic], 6);
    gw = await startGateway({
      KAFKA_TOPIC: topic,
      INGEST_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      RATE_LIMIT_PER_SECOND: '0',
      // kafkajs logs every refused reconnect during the outage; the test reports what matters.
      LOG_LEVEL: 'error',
    });
  });

  afterAll(async () => {
    // Whatever happened above, the shared broker is running again before the next file.
    await restore(ctx, kafkaService);
    await gw?.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }, 180_000);

  it('keeps every accepted reading and fails the rest with a Kafka code in bounded time', async () => {
    const sent: Sent[] = [];
    let seq = 0;
    const base = Date.now() - 86_400_000;
    let running = true;

    const one = async (): Promise<void> => {
      const readings = Array.from({ length: BATCH }, () => {
        const n = seq++;
        return {
          userId: `${userPrefix}${n % 5}`,
          metric: 'HEART_RATE',
          time: new Date(base + n * 1000).toISOString(),
          value: 60 + (n % 40),
          eventId: randomUUID(),
        };
      });
      const startedAt = Date.now();
      let outcome: Outcome;
      try {
        const res = await fetch(gw.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: INGEST, variables: { r: readings } }),
          // Far beyond the ack timeout: reaching it means the gateway hung.
          signal: AbortSignal.timeout(ACK_TIMEOUT_MS + 10_000),
        });
        const body = (await res.json()) as {
          data?: { ingestReadings: { accepted: number } } | null;
          errors?: { extensions?: { code?: string } }[];
        };
        const ms = Date.now() - startedAt;
        outcome =
          body.errors === undefined && body.data?.ingestReadings.accepted === BATCH
            ? { kind: 'ok', ms }
            : { kind: 'error', ms, status: res.status, code: body.errors?.[0]?.extensions?.code ?? 'NO_CODE' };
      } catch (err) {
        const ms = Date.now() - startedAt;
        outcome =
          (err as Error).name === 'TimeoutError'
            ? { kind: 'timeout', ms }
            : { kind: 'network', ms, cause: networkCause(err) };
      }
      sent.push({ outcome, eventIds: readings.map((r) => r.eventId), startedAt });
    };
    const loops = Array.from({ length: CLIENTS }, async () => {
      while (running) await one();
    });
    const okCount = (since = 0) => sent.filter((s) => s.outcome.kind === 'ok' && s.startedAt >= since).length;
    const failedCount = () => sent.filter((s) => s.outcome.kind !== 'ok').length;

    try {
      await waitFor(() => okCount() >= 30, { timeoutMs: 20_000, what: '30 mutations accepted before the kill' });

      const pid = runningPid(ctx.paths, 'kafka');
      expect(pid, 'the stack runs Kafka').toBeDefined();
      const killedAt = Date.now();
      process.kill(pid!, 'SIGKILL');
      await waitFor(() => runningPid(ctx.paths, 'kafka') === undefined, {
        timeoutMs: 10_000,
        what: 'the broker process gone',
      });
      // The outage is seen by clients before the broker comes back.
      await waitFor(() => failedCount() >= 2 * CLIENTS, {
        timeoutMs: 30_000,
        what: 'mutations failing during the outage',
      });

      const restartMs = await restore(ctx, kafkaService);
      const upAt = Date.now();
      await waitFor(() => okCount(upAt) >= 30, { timeoutMs: 60_000, what: '30 mutations accepted after the restart' });
      running = false;
      await Promise.all(loops);

      const firstOkAfterKill = sent
        .filter((s) => s.outcome.kind === 'ok' && s.startedAt > killedAt)
        .sort((a, b) => a.startedAt - b.startedAt)[0];
      const failures = sent.filter((s) => s.outcome.kind !== 'ok');
      const accepted = new Set(sent.filter((s) => s.outcome.kind === 'ok').flatMap((s) => s.eventIds));
      console.log(
        JSON.stringify({
          mutations: sent.length,
          outcomes: tally(sent.map((s) => s.outcome)),
          acceptedReadings: accepted.size,
          slowestFailureMs: Math.max(...failures.map((f) => f.outcome.ms)),
          brokerRestartMs: restartMs,
          ingestBackAfterKillMs: firstOkAfterKill
            ? firstOkAfterKill.startedAt + firstOkAfterKill.outcome.ms - killedAt
            : null,
        }),
      );

      // Every failure is a clean Kafka error within the configured bound: no hang, no other code.
      expect(failures.length).toBeGreaterThanOrEqual(2 * CLIENTS);
      for (const f of failures) {
        expect(f.outcome.kind, JSON.stringify(f.outcome)).toBe('error');
        if (f.outcome.kind === 'error') expect(['KAFKA_UNAVAILABLE', 'KAFKA_TIMEOUT']).toContain(f.outcome.code);
        expect(f.outcome.ms, JSON.stringify(f.outcome)).toBeLessThanOrEqual(ACK_TIMEOUT_MS + SLACK_MS);
      }

      // Every reading a mutation reported accepted is on the topic. A failed mutation's readings
      // may be there too (a produce that completed after its timeout); that is allowed, and the
      // worker's identity key makes the client's retry harmless.
      const onTopic = new Set<string>();
      const stillMissing = () => [...accepted].filter((e) => !onTopic.has(e));
      await collect(
        kafka,
        topic,
        Array.from({ length: 6 }, (_, partition) => ({ partition, offset: '0' })),
        (m) => {
          const eventId = (JSON.parse(m.value ?? '{}') as { eventId?: string }).eventId;
          if (eventId !== undefined) onTopic.add(eventId);
          return true;
        },
        () => stillMissing().length === 0,
        30_000,
      ).catch((err: unknown) => {
        throw new Error(`${stillMissing().length} accepted readings missing from the topic: ${String(err)}`);
      });
      expect(stillMissing()).toEqual([]);
      const failedOnTopic = failures.flatMap((f) => f.eventIds).filter((e) => onTopic.has(e)).length;
      console.log(JSON.stringify({ acceptedOnTopic: accepted.size, readingsOfFailedMutationsOnTopic: failedOnTopic }));
    } finally {
      running = false;
      await Promise.all(loops);
    }
  }, 150_000);
});
