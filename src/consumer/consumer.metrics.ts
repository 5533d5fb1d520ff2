/**
 * The consumer worker's Prometheus metrics: its running totals (read from the worker's stats on
 * each scrape) and the group's lag per partition (asked of the brokers on each scrape: committed
 * offsets against end offsets, so it is the lag of the whole group, whichever member scrapes).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Admin } from '../kafka/types.js';
import type { Registry } from 'prom-client';
import type { ConsumerWorkerStats } from './worker.js';
import type { HistoryWriterStats } from './history.writer.js';
import type { Logger } from '../logger.js';
import { groupLag } from '../kafka/offsets.js';
import { createRegistry, readGauge, serveMetrics, totalsCounter } from '../metrics/registry.js';

export interface ConsumerMetricsOptions {
  stats(): ConsumerWorkerStats;
  /** The history writer's counts, when it runs in this process. */
  historyStats?: () => HistoryWriterStats;
  admin: { use<T>(fn: (admin: Admin) => Promise<T>): Promise<T> };
  groupId: string;
  topic: string;
  logger: Logger;
  /** Bound on the lag query at scrape time. Default 3 000 ms. */
  lagTimeoutMs?: number;
}

export interface ConsumerMetrics {
  readonly registry: Registry;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function createConsumerMetrics(options: ConsumerMetricsOptions): ConsumerMetrics {
  const { stats, logger, groupId, topic } = options;
  const lagTimeoutMs = options.lagTimeoutMs ?? 3_000;
  const registry = createRegistry({ process: 'consumer' });
  const counter = (name: string, help: string, read: (s: ConsumerWorkerStats) => number) =>
    totalsCounter(registry, name, help, [], () => [[{}, read(stats())]]);

  counter(
    'fitbit_consumer_batches_total',
    'Partition batches fully handled: rows written, DLQ acknowledged, offsets committed.',
    (s) => s.batches,
  );
  counter('fitbit_consumer_messages_total', 'Messages in those batches.', (s) => s.messages);
  const historyStats = options.historyStats;
  if (historyStats) {
    totalsCounter(
      registry,
      'fitbit_history_events_total',
      "The job's output events by what the history writer did with them (stored_windows, stored_alerts, repeat: already stored, malformed: skipped).",
      ['result'],
      () => {
        const h = historyStats();
        return [
          [{ result: 'stored_windows' }, h.windowsStored],
          [{ result: 'stored_alerts' }, h.alertsStored],
          [{ result: 'repeat' }, h.repeats],
          [{ result: 'malformed' }, h.malformed],
        ];
      },
    );
  }
  counter(
    'fitbit_consumer_rows_inserted_total',
    'Readings inserted into the readings table (new identities).',
    (s) => s.rowsInserted,
  );
  counter(
    'fitbit_consumer_duplicates_total',
    'Valid readings not inserted because their identity (userId, metric, time) was already stored or repeated in the batch.',
    (s) => s.duplicates,
  );
  counter(
    'fitbit_consumer_insert_fallbacks_total',
    'Batches COPY could not store whole (an identity already stored, as on a replay), written by INSERT ... ON CONFLICT instead.',
    (s) => s.insertFallbacks,
  );
  counter(
    'fitbit_consumer_erased_total',
    'Valid readings not stored because their user was erased after the message was appended (docs/privacy.md).',
    (s) => s.erased,
  );
  totalsCounter(
    registry,
    'fitbit_consumer_dlq_messages_total',
    'Messages published to the DLQ topic, by error code.',
    ['code'],
    () => Object.entries(stats().dlqByCode).map(([code, n]) => [{ code }, n] as [{ code: string }, number]),
  );
  totalsCounter(
    registry,
    'fitbit_consumer_retries_total',
    'Retries of a batch after a retriable failure, by what failed (database, dlq).',
    ['what'],
    () => {
      const r = stats().retriesBy;
      return [
        [{ what: 'database' }, r.database],
        [{ what: 'dlq' }, r.dlq],
      ];
    },
  );
  counter(
    'fitbit_consumer_group_joins_total',
    'Times this worker joined the consumer group (1 + rebalances).',
    (s) => s.groupJoins,
  );
  readGauge(
    registry,
    'fitbit_consumer_assigned_partitions',
    'Partitions of the ingestion topic this worker holds.',
    [],
    () => [[{}, Object.values(stats().assignments).reduce((n, ps) => n + ps.length, 0)]],
  );
  readGauge(
    registry,
    'fitbit_consumer_last_batch_timestamp_seconds',
    'When this worker last finished a batch (Unix seconds; 0 before the first).',
    [],
    () => [[{}, (stats().lastBatchAt ?? 0) / 1000]],
  );
  readGauge(
    registry,
    'fitbit_consumer_up',
    '1 while the worker is started and consuming, 0 while starting or stopping.',
    [],
    () => [[{}, stats().phase === 'started' ? 1 : 0]],
  );

  // Kept between scrapes: a failed lag query leaves the last known values rather than no series,
  // which would silence the lag alert exactly when the brokers are in trouble.
  let last: [{ topic: string; partition: string }, number][] = [];
  readGauge(
    registry,
    'fitbit_consumer_lag',
    'Messages of the ingestion topic not yet committed by the worker group, per partition (end offset minus committed offset).',
    ['topic', 'partition'],
    async () => {
      try {
        const lag = await options.admin.use((a) =>
          Promise.race([
            groupLag(a, groupId, topic),
            new Promise<never>((_, reject) =>
              AbortSignal.timeout(lagTimeoutMs).addEventListener(
                'abort',
                () => reject(new Error(`no answer within ${lagTimeoutMs} ms`)),
                { once: true },
              ),
            ),
          ]),
        );
        last = lag.partitions.map((p) => [{ topic, partition: String(p.partition) }, p.lag]);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'consumer lag unknown at scrape; keeping the last values');
      }
      return last;
    },
  );

  return {
    registry,
    handle: (_req, res) => serveMetrics(registry, res, (err) => logger.error({ err }, 'metrics collection failed')),
  };
}
