/**
 * `ingestReadings`: validate each reading, publish the valid ones, answer once Kafka acknowledged
 * them. Invalid readings are reported by index and never published; a batch over the limit is
 * refused whole.
 *
 * Two valid readings of one identity (user, metric, millisecond: the table's key) in one batch are
 * both accepted, but only the first is published: the table would keep one anyway, and the stream
 * job would otherwise count it twice. `duplicates` says how many were folded, so `accepted -
 * duplicates` is what the batch adds.
 */
import { AppError, ErrorCode } from '../errors.js';
import { checkFields, checkIds, checkMeasure, checkSubject, identityOf, type ValidReading } from '../domain/reading.js';
import type { WireMetric } from '../domain/metrics.js';
import type { ReadingPublisher } from './reading.publisher.js';

/** A reading as GraphQL hands it over: types already checked, rules not yet. */
export interface ReadingFields {
  userId: string;
  metric: string;
  time: Date;
  value: number;
  deviceId?: string | null | undefined;
  eventId?: string | null | undefined;
}

export interface Rejected {
  index: number;
  code: string;
  message: string;
}

export interface IngestOutcome {
  accepted: number;
  /** Accepted readings whose identity an earlier reading of the same batch already had. */
  duplicates: number;
  rejected: Rejected[];
}

/** `ingestSeries`: one user's metric as two parallel arrays, the shape of a device's intraday sync. */
export interface SeriesFields {
  userId: string;
  metric: string;
  deviceId?: string | null | undefined;
  times: Date[];
  values: number[];
}

export interface IngestService {
  ingest(readings: ReadingFields[], requestId?: string): Promise<IngestOutcome>;
  /** The same rules as `ingest`, reading i being (times[i], values[i]); `rejected` indexes into the arrays. */
  ingestSeries(series: SeriesFields, requestId?: string): Promise<IngestOutcome>;
}

export function createIngestService(opts: {
  publisher: ReadingPublisher;
  maxReadings: number;
  now?: () => number;
}): IngestService {
  const now = opts.now ?? Date.now;
  const tooLarge = (received: number) =>
    new AppError(
      ErrorCode.BATCH_TOO_LARGE,
      `at most ${opts.maxReadings} readings per request; got ${received}. Split the batch.`,
      { details: { limit: opts.maxReadings, received } },
    );
  const service: IngestService = {
    async ingestSeries(series, requestId) {
      if (series.times.length !== series.values.length) {
        throw new AppError(
          ErrorCode.INVALID_INPUT,
          `times and values must have the same length; got ${series.times.length} times and ${series.values.length} values`,
          { details: { times: series.times.length, values: series.values.length } },
        );
      }
      const n = series.times.length;
      if (n > opts.maxReadings) throw tooLarge(n);
      // The rules of checkFields, in its order, with what every reading of the series shares
      // checked once: the subject (userId, metric) before time and value, the device after them.
      const nowMs = now();
      const { userId } = series;
      const deviceId = series.deviceId ?? undefined;
      const subject = checkSubject(userId, series.metric);
      const device = checkIds(undefined, deviceId);
      const metric = series.metric as WireMetric;
      const valid: ValidReading[] = [];
      const rejected: Rejected[] = [];
      // One user and metric: the identity within the series is the time.
      const times = new Set<number>();
      let duplicates = 0;
      for (let i = 0; i < n; i += 1) {
        const timeMs = series.times[i]!.getTime();
        const value = series.values[i]!;
        const failed = subject ?? checkMeasure(metric, timeMs, value, nowMs) ?? device;
        if (failed) {
          rejected.push({ index: i, code: failed.code, message: failed.message });
          continue;
        }
        if (times.has(timeMs)) duplicates += 1;
        else {
          times.add(timeMs);
          valid.push({ eventId: undefined, userId, metric, timeMs, value, deviceId });
        }
      }
      if (valid.length > 0) await opts.publisher.publish(valid, requestId);
      return { accepted: valid.length + duplicates, duplicates, rejected };
    },
    async ingest(readings, requestId) {
      if (readings.length > opts.maxReadings) throw tooLarge(readings.length);
      const nowMs = now();
      const valid: ValidReading[] = [];
      const rejected: Rejected[] = [];
      const identities = new Set<string>();
      let duplicates = 0;
      for (let i = 0; i < readings.length; i += 1) {
        const r = readings[i]!;
        const check = checkFields(
          r.userId,
          r.metric,
          r.time.getTime(),
          r.value,
          r.eventId ?? undefined,
          r.deviceId ?? undefined,
          nowMs,
        );
        if (!check.ok) {
          rejected.push({ index: i, code: check.code, message: check.message });
          continue;
        }
        const identity = identityOf(check.reading);
        if (identities.has(identity)) duplicates += 1;
        else {
          identities.add(identity);
          valid.push(check.reading);
        }
      }
      if (valid.length > 0) await opts.publisher.publish(valid, requestId);
      return { accepted: valid.length + duplicates, duplicates, rejected };
    },
  };
  return service;
}
