/**
 * The history writer: the job's output topics -> tables `metric_windows` and `alert_events`
 * (db/migrations/004), so that clients can read back what was published (the windows and alerts
 * queries) and resume a subscription from a cursor older than a gateway's replay log.
 *
 * Runs in the worker process with a consumer group of its own. Per partition batch: parse every
 * message, write the valid events with one INSERT ... ON CONFLICT DO NOTHING per table (the
 * identities make the job's at-least-once repeats and our own replays harmless, and keep the first
 * publication's position), then commit the offsets. A malformed message is counted and skipped:
 * the output topics are written by the job, not by clients, and the live gateways skip it too.
 * A database failure throws, so kafkajs retries the batch from its uncommitted offset.
 *
 * Both INSERTs consult the erasure ledger (db/migrations/005, docs/privacy.md) like the readings
 * INSERT does: an event of a user erased after the event's message was appended is not stored, so
 * a new group or a replay of the output topics cannot bring an erased user's windows back.
 */
import type { Consumer, EachBatchPayload, Kafka } from '../kafka/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Pool } from '../timescale/pool.js';
import { parseAlert, parseWindow, type LiveAlert, type LiveWindow } from '../domain/events.js';
import { appendedMs } from './batch.plan.js';

export interface HistoryWriterStats {
  windowsStored: number;
  alertsStored: number;
  /** Events already stored (repeats of the job, replays of this writer). */
  repeats: number;
  /** Events not stored because their user was erased after they were appended. */
  erased: number;
  malformed: number;
}

export interface HistoryWriter {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): HistoryWriterStats;
}

interface Positioned<T> {
  event: T;
  partition: number;
  offset: string;
  /** The message's Kafka timestamp (epoch ms), null when unknown. */
  appendedMs: number | null;
}

/**
 * An INSERT of unnest()ed rows `x` that skips the users the ledger erased after the row's append
 * time (`x.ap`, or `fallback` when unknown), answering how many were new and how many were erased.
 */
const ledgerChecked = (select: string, insert: string, fallback: string): string => `WITH x AS (${select}),
kept AS (
  SELECT * FROM x
  WHERE NOT EXISTS (
    SELECT 1 FROM erasures z WHERE z.user_id = x.u AND z.erased_at > coalesce(to_timestamp(x.ap / 1000::float8), ${fallback})
  )
), stored AS (${insert} RETURNING 1)
SELECT (SELECT count(*) FROM stored)::int AS inserted, ((SELECT count(*) FROM x) - (SELECT count(*) FROM kept))::int AS erased`;

const INSERT_WINDOWS = ledgerChecked(
  `SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::int[], $6::float8[], $7::float8[],
    $8::float8[], $9::float8[], $11::int[], $12::bigint[], $13::float8[]) AS x(u, m, s, e, c, a, mi, ma, su, p, o, ap)`,
  `INSERT INTO metric_windows
  (user_id, metric, window_start, window_end, count, avg, min, max, sum, topic, kafka_partition, kafka_offset)
  SELECT u, m, to_timestamp(s / 1000::float8), to_timestamp(e / 1000::float8), c, a, mi, ma, su, $10, p, o FROM kept
  ON CONFLICT (user_id, metric, window_start) DO NOTHING`,
  'to_timestamp(x.e / 1000::float8)',
);

const INSERT_ALERTS = ledgerChecked(
  `SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::text[], $8::int[], $9::bigint[],
    $10::float8[]) AS x(i, u, k, t, m, d, p, o, ap)`,
  `INSERT INTO alert_events (alert_id, user_id, kind, time, message, details, topic, kafka_partition, kafka_offset)
  SELECT i, u, k, to_timestamp(t / 1000::float8), m, d::jsonb, $7, p, o FROM kept
  ON CONFLICT (alert_id) DO NOTHING`,
  'to_timestamp(x.t / 1000::float8)',
);

interface Outcome {
  inserted: number;
  erased: number;
}

export function historyGroupId(config: Pick<Config, 'kafka'>): string {
  return `${config.kafka.consumerGroup}-history`;
}

export function createHistoryWriter(options: {
  config: Pick<Config, 'kafka'>;
  logger: Logger;
  kafka: Kafka;
  pool: Pool;
}): HistoryWriter {
  const { config, kafka, pool } = options;
  const { processed, alerts } = config.kafka.topics;
  const log = options.logger.child({ component: 'history-writer' });
  const counters: HistoryWriterStats = { windowsStored: 0, alertsStored: 0, repeats: 0, erased: 0, malformed: 0 };
  let consumer: Consumer | undefined;
  let malformedLogged = 0;

  const skip = (topic: string, partition: number, offset: string, reason: string): void => {
    counters.malformed += 1;
    if (malformedLogged < 20) {
      malformedLogged += 1;
      log.warn({ topic, partition, offset, reason }, 'skipping malformed event');
    }
  };

  /** `n` events were parsed, of which the statement stored some, skipped some as erased; the rest repeat. */
  function count(outcome: Outcome | undefined, stored: 'windowsStored' | 'alertsStored', n: number): void {
    const inserted = outcome?.inserted ?? 0;
    const erased = outcome?.erased ?? 0;
    counters[stored] += inserted;
    counters.erased += erased;
    counters.repeats += n - inserted - erased;
  }

  async function storeWindows(topic: string, windows: Positioned<LiveWindow>[], n: number): Promise<void> {
    const result = await pool.query<Outcome>(INSERT_WINDOWS, [
      windows.map((w) => w.event.userId),
      windows.map((w) => w.event.metric),
      windows.map((w) => w.event.windowStart.getTime()),
      windows.map((w) => w.event.windowEnd.getTime()),
      windows.map((w) => w.event.count),
      windows.map((w) => w.event.avg),
      windows.map((w) => w.event.min),
      windows.map((w) => w.event.max),
      windows.map((w) => w.event.sum),
      topic,
      windows.map((w) => w.partition),
      windows.map((w) => w.offset),
      windows.map((w) => w.appendedMs),
    ]);
    count(result.rows[0], 'windowsStored', n);
  }

  async function storeAlerts(topic: string, list: Positioned<LiveAlert>[], n: number): Promise<void> {
    const result = await pool.query<Outcome>(INSERT_ALERTS, [
      list.map((a) => a.event.alertId),
      list.map((a) => a.event.userId),
      list.map((a) => a.event.kind),
      list.map((a) => a.event.time.getTime()),
      list.map((a) => a.event.message),
      list.map((a) => (a.event.details === null ? null : JSON.stringify(a.event.details))),
      topic,
      list.map((a) => a.partition),
      list.map((a) => a.offset),
      list.map((a) => a.appendedMs),
    ]);
    count(result.rows[0], 'alertsStored', n);
  }

  const eachBatch = async ({ batch, resolveOffset, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> => {
    const { topic, partition } = batch;
    if (topic === processed) {
      const windows: Positioned<LiveWindow>[] = [];
      for (const m of batch.messages) {
        const parsed = parseWindow(m.value);
        if (parsed.ok) windows.push({ event: parsed.event, partition, offset: m.offset, appendedMs: appendedMs(m) });
        else skip(topic, partition, m.offset, parsed.reason);
      }
      // One row per identity per statement: ON CONFLICT cannot see a row of the same statement.
      if (windows.length > 0) {
        const unique = firstOf(windows, (w) => `${w.userId}\u0000${w.metric}\u0000${w.windowStart.getTime()}`);
        await storeWindows(topic, unique, windows.length);
      }
    } else {
      const list: Positioned<LiveAlert>[] = [];
      for (const m of batch.messages) {
        const parsed = parseAlert(m.value);
        if (parsed.ok) list.push({ event: parsed.event, partition, offset: m.offset, appendedMs: appendedMs(m) });
        else skip(topic, partition, m.offset, parsed.reason);
      }
      if (list.length > 0)
        await storeAlerts(
          topic,
          firstOf(list, (a) => a.alertId),
          list.length,
        );
    }
    resolveOffset(batch.lastOffset());
    await commitOffsetsIfNecessary();
  };

  return {
    stats: () => ({ ...counters }),
    async start() {
      consumer = kafka.consumer({
        groupId: historyGroupId(config),
        maxWaitTimeInMs: 500,
        allowAutoTopicCreation: false,
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [processed, alerts], fromBeginning: true });
      // autoCommit without interval or threshold: kafkajs commits what a batch resolved after it.
      await consumer.run({ autoCommit: true, eachBatchAutoResolve: false, eachBatch });
      log.info({ topics: [processed, alerts] }, 'history writer started');
    },
    async stop() {
      const c = consumer;
      consumer = undefined;
      await c?.disconnect();
    },
  };
}

/** The first of each identity, in order: the job's repeats inside one batch collapse to the first. */
function firstOf<T>(list: Positioned<T>[], key: (event: T) => string): Positioned<T>[] {
  const seen = new Set<string>();
  const out: Positioned<T>[] = [];
  for (const item of list) {
    const k = key(item.event);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(item);
  }
  return out;
}
