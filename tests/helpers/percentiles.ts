/**
 * Rank error of a percentile estimate against the sorted values it summarises: the share of
 * values at or below the estimate must reach `q - allowed`, and the share strictly below it must
 * not pass `q + allowed`.
 */
import { expect } from 'vitest';

export function expectPercentileRank(
  sorted: readonly number[],
  q: number,
  estimate: number,
  allowed: number,
  what = '',
): void {
  const rank = sorted.filter((x) => x <= estimate).length / sorted.length;
  const below = sorted.filter((x) => x < estimate).length / sorted.length;
  expect(rank, what).toBeGreaterThanOrEqual(q - allowed);
  expect(below, what).toBeLessThanOrEqual(q + allowed);
}
