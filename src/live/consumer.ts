/**
 * The gateway instance's reader of the output topics. Each instance uses a consumer group of its
 * own, so every instance sees every event (subscribers can be connected to any of them). It starts
 * a little before the end of the topics: the last `replayPerPartition` events of each partition are
 * read into the hub's replay log (for subscriptions resumed with a cursor, also right after this
 * gateway restarted), and only what comes after the end as of start is live for new subscriptions.
 * Nothing is committed; the group is deleted on stop.
 *
 * It also reads the dead-letter topic, from a few messages before its end, into a ring of recent
 * refusals (dead-letters.ts) for operators.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from '../kafka/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { parseAlert, parseWindow } from '../domain/events.js';
import type { LiveHub } from './hub.js';
import type { DeadLetterRing } from './dead-letters.js';

export interface LiveConsumer {
  readonly groupId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function liveGroupId(clientId: string): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '_');
  return `${clientId}-live-${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Dead letters read back per partition on start. */
const DEAD_LETTER_BACKLOG = 20;

export function createLiveConsumer(
  config: Pick<Config, 'kafka' | 'live'>,
  logger: Logger,
  kafka: Kafka,
  hub: LiveHub,
  deadLetters: DeadLetterRing,
): LiveConsumer {
  const { processed, alerts, dlq } = config.kafka.topics;
  const { replayPerPartition } = config.live;
  const groupId = liveGroupId(config.kafka.clientId);
  const log = logger.child({ component: 'live-consumer', groupId });
  let consumer: Consumer | undefined;
  let malformedLogged = 0;

  const skip = (topic: string, partition: number, offset: string, reason: string): void => {
    hub.skipMalformed(topic === processed ? 'window' : 'alert', partition, Number(offset));
    // Counted always, logged sparingly: a bad producer must not flood the log.
    if (malformedLogged < 20) {
      malformedLogged += 1;
      log.warn({ topic, partition, offset, reason }, 'skipping malformed event');
    }
  };

  // Fan-out is synchronous, so a large batch would land in every queue at once and overflow even a
  // subscriber that keeps up. Yielding to the event loop every half buffer lets graphql-ws write what
  // is queued in between; a subscriber that keeps up then never drops.
  const yieldEvery = Math.max(1, Math.min(128, Math.floor(config.live.bufferSize / 2)));

  const eachBatch = async ({ batch }: EachBatchPayload): Promise<void> => {
    const { topic, partition } = batch;
    if (topic === dlq) {
      for (const message of batch.messages) deadLetters.add(partition, message);
      return;
    }
    let sinceYield = 0;
    for (const message of batch.messages) {
      if (++sinceYield > yieldEvery) {
        sinceYield = 1;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const offset = Number(message.offset);
      const appendedMs = Number(message.timestamp);
      const appended = Number.isFinite(appendedMs) && appendedMs >= 0 ? appendedMs : undefined;
      if (topic === processed) {
        const parsed = parseWindow(message.value);
        if (parsed.ok) hub.publishWindow(parsed.event, partition, offset, appended);
        else skip(topic, partition, message.offset, parsed.reason);
      } else {
        const parsed = parseAlert(message.value);
        if (parsed.ok) hub.publishAlert(parsed.event, partition, offset, appended);
        else skip(topic, partition, message.offset, parsed.reason);
      }
    }
  };

  /** Sets the new group's offsets to the end of each topic (minus the replay); returns the topics read. */
  const pinToEnd = async (): Promise<string[]> => {
    const admin = kafka.admin();
    await admin.connect();
    const topics = [processed, alerts];
    try {
      for (const topic of topics) {
        const kind = topic === processed ? 'window' : 'alert';
        const partitions = (await admin.fetchTopicOffsets(topic)).map((p) => {
          const high = Number(p.high);
          const from = Math.max(Number(p.low), high - replayPerPartition);
          hub.openPartition(kind, p.partition, from, high);
          return { partition: p.partition, offset: String(from) };
        });
        await admin.setOffsets({ groupId, topic, partitions });
      }
      // The dead letters are for operators: a missing topic leaves their list empty, nothing more.
      const dlqOffsets = await admin.fetchTopicOffsets(dlq).catch((err: unknown) => {
        log.warn({ err, topic: dlq }, 'dead-letter topic not readable; recent dead letters stay empty');
        return undefined;
      });
      if (dlqOffsets) {
        const partitions = dlqOffsets.map((p) => ({
          partition: p.partition,
          offset: String(Math.max(Number(p.low), Number(p.high) - DEAD_LETTER_BACKLOG)),
        }));
        await admin.setOffsets({ groupId, topic: dlq, partitions });
        topics.push(dlq);
      }
    } finally {
      await admin.disconnect();
    }
    return topics;
  };

  return {
    groupId,
    async start() {
      // Pin "live" to the end of the topics as of now, rather than as of whenever the group join
      // completes: every event appended after start() resolves is delivered. The group is this
      // instance's own and new, so its offsets are set before it has a member; seeking after run()
      // instead fails when the first group join is retried (kafkajs drops the group meanwhile).
      // A broker lost a moment ago still leads partitions until the cluster fences it (seconds):
      // a retriable failure here is waited out, so a gateway starting during a failover still starts.
      const topics = await untilFailoverSettles(() => pinToEnd(), log);
      consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, allowAutoTopicCreation: false });
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: false });
      await consumer.run({ autoCommit: false, eachBatch });
      log.info({ topics }, 'live consumer started');
    },
    async stop() {
      if (!consumer) return;
      const c = consumer;
      consumer = undefined;
      await c.disconnect();
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.deleteGroups([groupId]);
      } catch (err) {
        // A leftover empty group costs nothing but a name; the broker expires it.
        log.debug({ err }, 'could not delete the live consumer group');
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}

/** How long a start waits out retriable Kafka failures: a broker fenced and its leaderships moved. */
const FAILOVER_WAIT_MS = 30_000;

async function untilFailoverSettles<T>(fn: () => Promise<T>, log: { warn(o: object, m: string): void }): Promise<T> {
  const deadline = Date.now() + FAILOVER_WAIT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw err;
      log.warn({ err: (err as Error).message }, 'Kafka not ready for the live consumer yet; retrying');
      await sleep(1000);
    }
  }
}
