/** ingestSeries follows ingestReadings' rules: per-index rejections, duplicates, the batch limit, equal lengths. */
import { describe, expect, it } from 'vitest';
import { createIngestService } from '../../src/ingest/ingest.service.js';
import type { ReadingPublisher } from '../../src/ingest/reading.publisher.js';
import type { AppError } from '../../src/errors.js';

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
});
