/** ingestSeries follows ingestReadings' rules: per-index rejections, duplicates, the batch limit, equal lengths. */
import { describe, expect, it } from 'vitest';
import { createIngestService } from '../../src/ingest/ingest.service.js';
import type { ReadingPublisher } from '../../src/ingest/reading.publisher.js';
import type { AppError } from '../../src/errors.js';
import type { ValidReading } from '../../src/domain/reading.js';

const now = Date.parse('2026-06-01T12:00:00Z');

function service(maxReadings = 100) {
  const published: { timeMs: number; value: number; userId: string; deviceId: string | undefined }[] = [];
  const publisher = {
    publish: async (readings: typeof published) => {
      published.push(...readings);
    },
  } as unknown as ReadingPublisher;
  return { published, ingest: createIngestService({ publisher, maxReadings, now: () => now }) };
}

const at = (s: number) => new Date(now - 3_600_000 + s * 1000);

describe('ingestSeries', () => {
  it('validates each (time, value) pair, indexes rejections into the arrays, folds repeats', async () => {
    const { published, ingest } = service();
    const outcome = await ingest.ingestSeries({
      userId: 'u1',
      metric: 'spo2',
      deviceId: 'ring-1',
      times: [at(0), at(1), at(1), at(2), new Date(now + 3_600_000)],
      values: [97, 96, 95, 40, 98],
    });
    expect(outcome).toEqual({
      accepted: 3,
      duplicates: 1,
      rejected: [
        { index: 3, code: 'VALUE_OUT_OF_RANGE', message: expect.any(String) as string },
        { index: 4, code: 'TIME_IN_FUTURE', message: expect.any(String) as string },
      ],
    });
    expect(published.map((r) => [r.userId, r.timeMs, r.value, r.deviceId])).toEqual([
      ['u1', at(0).getTime(), 97, 'ring-1'],
      ['u1', at(1).getTime(), 96, 'ring-1'],
    ]);
  });

  it('refuses arrays of different lengths, and a series over the batch limit, whole', async () => {
    const { published, ingest } = service(3);
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e: AppError) => e.code,
      );
    expect(await code(ingest.ingestSeries({ userId: 'u1', metric: 'steps', times: [at(0), at(1)], values: [1] }))).toBe(
      'INVALID_INPUT',
    );
    expect(
      await code(
        ingest.ingestSeries({ userId: 'u1', metric: 'steps', times: [0, 1, 2, 3].map(at), values: [1, 2, 3, 4] }),
      ),
    ).toBe('BATCH_TOO_LARGE');
    expect(published).toEqual([]);
  });

  it('answers and publishes exactly what ingestReadings does for the same readings, whatever rule they break', async () => {
    const capture = () => {
      const published: ValidReading[] = [];
      const publisher = {
        publish: async (readings: ValidReading[]) => {
          published.push(...readings);
          return readings.map(() => 'id');
        },
      } as unknown as ReadingPublisher;
      return { published, ingest: createIngestService({ publisher, maxReadings: 100, now: () => now }) };
    };
    const times = [
      at(0),
      at(1),
      at(1),
      new Date(-1),
      new Date(Number.NaN),
      new Date(now + 3_600_000),
      at(2),
      at(3),
      at(4),
    ];
    const values = [70, 71, 72, 73, 74, 75, Number.POSITIVE_INFINITY, 1_000, 76];
    const subjects: [string, string, string | null | undefined][] = [
      ['u1', 'heart_rate', 'watch'],
      ['u1', 'heart_rate', null],
      ['u1', 'heart_rate', undefined],
      ['not a user!', 'heart_rate', 'watch'],
      ['u1', 'no_such_metric', 'watch'],
      ['u1', 'heart_rate', 'bad\u0000device'],
      ['u1', 'heart_rate', 'x'.repeat(129)],
      ['not a user!', 'no_such_metric', 'bad\u0000device'],
    ];
    for (const [userId, metric, deviceId] of subjects) {
      const series = capture();
      const readings = capture();
      const a = await series.ingest.ingestSeries({ userId, metric, deviceId, times, values });
      const b = await readings.ingest.ingest(
        times.map((time, i) => ({ userId, metric, time, value: values[i]!, deviceId })),
      );
      expect(a, `${userId} ${metric} ${String(deviceId)}`).toEqual(b);
      expect(series.published).toEqual(readings.published);
    }
  });
});
