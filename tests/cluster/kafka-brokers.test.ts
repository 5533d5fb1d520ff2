/**
 * Kafka with three brokers, topics at three replicas of which two must be in sync, under continuous
 * ingest through a gateway while a consumer worker stores what arrives:
 *  1. the leader of a partition is SIGKILLed (no flush, no deregistration), then started again;
 *  2. another broker is frozen with SIGSTOP for longer than the cluster's session timeout (to the
 *     others it is a broker cut off by the network), then thawed with SIGCONT.
 * Clients retry a mutation that fails with a retriable Kafka code, as a client of the contract
 * would, up to a bounded number of attempts. Pass: every batch is accepted within that bound; every
 * acknowledged reading is on the topic (exactly once when its first attempt was the acknowledged
 * one) and in the table exactly once. The stall each fault caused is printed.
 */
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { kafkaNodes, startKafkaNode, type KafkaNode } from '../../stack/services/kafka.js';
import { runningPid } from '../../stack/lib/process.js';
import type { StackContext } from '../../stack/lib/service.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { collect, createTopics, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { freePort, startChild, type Child } from '../helpers/faults.js';
import { useCluster } from './cluster.js';
import { longestGap, RETRIABLE, startLoad, type Batch } from '../../bench/lib/soak-load.js';

const CLIENTS = 3;
const BATCH = 10;
const MAX_ATTEMPTS = 6;
const RETRY_PAUSE_MS = 500;
const ACK_TIMEOUT_MS = 10_000;

const id = uniqueId('brokers');
const topics = { KAFKA_TOPIC: `${id}-ingestion`, KAFKA_DLQ_TOPIC: `${id}-dlq` };
const group = `${id}-writers`;
const userPrefix = `${id}-u`;

const eventIdsOf = (b: Batch): string[] => b.readings.map((r) => r.eventId);

describe('three Kafka brokers under continuous ingest', () => {
  let ctx: StackContext;
  let gw: TestGateway;
  let worker: Child | undefined;
  let db: pg.Pool;
  const kafka = testKafka();

  /** The node that leads `partition` of the test's topic now. */
  const leaderOf = async (partition: number): Promise<KafkaNode> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topics.KAFKA_TOPIC] });
      const leader = meta.topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
      const node = kafkaNodes(ctx).find((n) => n.id === leader);
      if (!node) throw new Error(`no live leader for partition ${partition} (${String(leader)})`);
      return node;
    } finally {
      await admin.disconnect();
    }
  };
  /** Every partition of the test's topic has all three replicas in sync again. */
  const fullyReplicated = async (): Promise<boolean> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topics.KAFKA_TOPIC] });
      return meta.topics[0]?.partitions.every((p) => p.isr.length === 3) ?? false;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    ctx = await useCluster();
    expect(kafkaNodes(ctx).length).toBe(3);
    expect(ctx.config.kafka.minInsyncReplicas).toBe(2);
    await createTopics(kafka, [topics.KAFKA_TOPIC], 6);
    await createTopics(kafka, [topics.KAFKA_DLQ_TOPIC], 1);
    db = new pg.Pool({ connectionString: loadConfig().postgres.url, max: 2 });
    gw = await startGateway({
      ...topics,
      INGEST_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      RATE_LIMIT_PER_SECOND: '0',
      LOG_LEVEL: 'error',
    });
    worker = await startChild({
      name: 'worker',
      script: 'src/consumer/main.ts',
      port: await freePort(),
      env: { ...topics, KAFKA_CONSUMER_GROUP: group, KAFKA_CONSUMER_FROM_BEGINNING: 'true', LAKE_ENABLED: 'false' },
      readyTimeoutMs: 120_000,
    });
  });

  afterAll(async () => {
    // Whatever happened above, every broker runs (and none is frozen) before the next file.
    for (const node of kafkaNodes(ctx)) {
      const pid = runningPid(ctx.paths, node.name);
      if (pid !== undefined) process.kill(pid, 'SIGCONT');
      else startKafkaNode(ctx, node);
    }
    await waitFor(fullyReplicated, { timeoutMs: 120_000, what: 'all replicas back in sync' }).catch(() => undefined);
    await worker?.kill('SIGTERM');
    await gw?.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.disconnect();
    await db?.query('DELETE FROM readings WHERE user_id LIKE $1', [`${userPrefix}%`]);
    await db?.end();
  }, 180_000);

  it('loses and duplicates nothing acknowledged when a leader is killed and a broker is cut off', async () => {
    const load = startLoad({
      url: gw.url,
      users: Array.from({ length: 7 }, (_, i) => `${userPrefix}${i}`),
      clients: CLIENTS,
      batchSize: BATCH,
      periodMs: 0, // back to back
      maxAttempts: MAX_ATTEMPTS,
      retryPauseMs: RETRY_PAUSE_MS,
      requestTimeoutMs: ACK_TIMEOUT_MS + 10_000,
    });
    const figures: Record<string, unknown> = {};
    try {
      await waitFor(() => load.accepted() >= 30, { timeoutMs: 30_000, what: '30 batches accepted before any fault' });

      // 1. The leader of partition 0 killed outright, then started again.
      const victim = await leaderOf(0);
      const killedAt = Date.now();
      figures.killedAt = new Date(killedAt).toISOString().slice(11, 23);
      process.kill(runningPid(ctx.paths, victim.name)!, 'SIGKILL');
      await waitFor(() => runningPid(ctx.paths, victim.name) === undefined, { timeoutMs: 10_000, what: 'broker gone' });
      await waitFor(() => load.accepted(killedAt + 1) >= 20, {
        timeoutMs: 60_000,
        what: 'ingest going on with two brokers',
      });
      await sleep(5_000);
      const restartAt = Date.now();
      startKafkaNode(ctx, victim);
      await waitFor(fullyReplicated, { timeoutMs: 120_000, what: 'the restarted broker back in every ISR' });
      figures.kill = {
        broker: victim.name,
        stallMs: longestGap(load.batches, killedAt, restartAt),
        catchUpMs: Date.now() - restartAt,
      };

      // 2. Another broker frozen: alive to the OS, silent to its peers and clients.
      const frozen = (await leaderOf(1)).name === victim.name ? await leaderOf(2) : await leaderOf(1);
      const frozenAt = Date.now();
      figures.frozenAt = new Date(frozenAt).toISOString().slice(11, 23);
      process.kill(runningPid(ctx.paths, frozen.name)!, 'SIGSTOP');
      await sleep(20_000);
      const thawAt = Date.now();
      process.kill(runningPid(ctx.paths, frozen.name)!, 'SIGCONT');
      await waitFor(fullyReplicated, { timeoutMs: 120_000, what: 'the thawed broker back in every ISR' });
      figures.freeze = {
        broker: frozen.name,
        frozenMs: thawAt - frozenAt,
        stallMs: longestGap(load.batches, frozenAt, thawAt),
        catchUpMs: Date.now() - thawAt,
      };
      const after = Date.now();
      await waitFor(() => load.accepted(after) >= 20, { timeoutMs: 60_000, what: 'ingest after the faults' });
    } finally {
      const recent = load.batches.slice(-12).map((b) => ({
        startedAt: new Date(b.startedAt).toISOString().slice(11, 23),
        attempts: b.attempts,
        codes: b.codes,
        ok: b.acceptedAt !== undefined,
      }));
      console.log(`[cluster] kafka faults so far ${JSON.stringify(figures)}; last batches ${JSON.stringify(recent)}`);
      await load.stop();
    }

    const batches = load.batches;
    const failed = batches.filter((b) => b.acceptedAt === undefined);
    const retried = batches.filter((b) => b.acceptedAt !== undefined && b.attempts > 1);
    const accepted = batches.filter((b) => b.acceptedAt !== undefined).flatMap(eventIdsOf);
    const firstTry = new Set(batches.filter((b) => b.acceptedAt !== undefined && b.attempts === 1).flatMap(eventIdsOf));
    figures.batches = batches.length;
    figures.retriedBatches = retried.length;
    figures.maxAttempts = Math.max(...batches.map((b) => b.attempts));
    figures.codes = [...new Set(batches.flatMap((b) => b.codes))];
    figures.acceptedReadings = accepted.length;
    figures.slowestBatchMs = Math.max(...batches.map((b) => (b.acceptedAt ?? Date.now()) - b.startedAt));

    // Bounded retry: no batch ran out of attempts or met a non-retriable failure.
    expect(failed.map((b) => b.codes)).toEqual([]);
    expect(figures.codes as string[]).toSatisfy((codes: string[]) => codes.every((c) => RETRIABLE.has(c)));

    // On the topic: every acknowledged reading; once, unless a client sent it again after a failure.
    const onTopic = new Map<string, number>();
    const missing = () => accepted.filter((e) => !onTopic.has(e));
    await collect(
      kafka,
      topics.KAFKA_TOPIC,
      Array.from({ length: 6 }, (_, partition) => ({ partition, offset: '0' })),
      (m) => {
        const eventId = (JSON.parse(m.value ?? '{}') as { eventId?: string }).eventId;
        if (eventId !== undefined) onTopic.set(eventId, (onTopic.get(eventId) ?? 0) + 1);
        return true;
      },
      () => missing().length === 0,
      60_000,
    ).catch(async (err: unknown) => {
      const lost = new Set(missing());
      const inTable = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM readings WHERE event_id = ANY($1::text[])',
        [[...lost]],
      );
      figures.lostButStored = inTable.rows[0]?.n;
      const where = batches
        .filter((b) => eventIdsOf(b).some((e) => lost.has(e)))
        .map((b) => ({
          startedAt: new Date(b.startedAt).toISOString().slice(11, 23),
          acceptedAt: new Date(b.acceptedAt ?? 0).toISOString().slice(11, 23),
          attempts: b.attempts,
          codes: b.codes,
          lost: eventIdsOf(b)
            .map((e, i) => (lost.has(e) ? i : -1))
            .filter((i) => i >= 0),
        }));
      throw new Error(
        `${lost.size} acknowledged readings missing from the topic (${JSON.stringify(figures)}; ${JSON.stringify(where)}): ${String(err)}`,
      );
    });
    expect(missing()).toEqual([]);
    const duplicatedFirstTry = [...firstTry].filter((e) => (onTopic.get(e) ?? 0) > 1);
    expect(duplicatedFirstTry).toEqual([]);
    figures.topicCopiesOfRetried = [...onTopic.values()].filter((n) => n > 1).length;

    // In the table: every acknowledged reading exactly once.
    await waitFor(
      async () => {
        const { rows } = await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM readings WHERE event_id = ANY($1::text[])',
          [accepted],
        );
        return rows[0]!.n === accepted.length;
      },
      { timeoutMs: 90_000, what: 'every acknowledged reading stored' },
    );
    const { rows } = await db.query<{ n: number; distinct_ids: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids FROM readings WHERE user_id LIKE $1',
      [`${userPrefix}%`],
    );
    expect(rows[0]).toEqual({ n: accepted.length, distinct_ids: accepted.length });
    figures.stored = rows[0]!.n;
    console.log(`[cluster] kafka faults ${JSON.stringify(figures)}`);
  }, 600_000);
});
