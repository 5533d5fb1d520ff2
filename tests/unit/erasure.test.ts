/** The SQL of an erasure that can be checked without a database: the rollup count and the refresh range. */
import { describe, expect, it } from 'vitest';
import { DELETE_READINGS_SQL, refreshStatement } from '../../src/timescale/erasure.service.js';

describe('erasure statements', () => {
  it("counts the rollup's rows as the distinct metric-minutes of the deleted readings, on the rollup's epoch-aligned minutes", () => {
    expect(DELETE_READINGS_SQL).toMatch(
      /^WITH gone AS \(DELETE FROM readings WHERE user_id = \$1 RETURNING metric, time\)/,
    );
    expect(DELETE_READINGS_SQL).toMatch(
      /count\(DISTINCT \(metric, date_bin\(INTERVAL '1 minute', time, TIMESTAMPTZ '1970-01-01 00:00:00\+00'\)\)\)/,
    );
  });

  it('refreshes the continuous aggregate from the first minute to the end of the last one', () => {
    expect(refreshStatement(new Date('2026-01-01T00:03:00Z'), new Date('2026-01-01T00:07:00Z'))).toBe(
      "CALL refresh_continuous_aggregate('readings_minute', '2026-01-01T00:03:00.000Z'::timestamptz, '2026-01-01T00:08:00.000Z'::timestamptz)",
    );
  });
});
