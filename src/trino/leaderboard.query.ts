/**
 * leaderboard: users ranked by the metric over a range. Count-like metrics (steps, calories...)
 * rank by their sum, the others (heart rate, SpO2...) by their average; which is which comes from
 * the metric catalogue (src/domain/metrics.ts), so the two statement texts are a closed set.
 *
 * Ranks are standard competition ranks (1, 2, 2, 4), ties listed by userId. They are computed
 * from the ordered top `limit` rows: a row's rank is 1 + the number of rows with a strictly
 * greater value, and all of those are in the prefix, so no window over every user is needed.
 */
import { METRICS, type WireMetric } from '../domain/metrics.js';
import type { LeaderboardRequest } from './aggregate.request.js';
import type { PreparedStatement } from './prepared-statement.js';
import { numberOf, stringOf } from './result-values.js';

export interface LeaderboardEntry {
  rank: number;
  userId: string;
  value: number;
}

export type LeaderboardAggregate = 'sum' | 'avg';

export function leaderboardAggregate(metric: WireMetric): LeaderboardAggregate {
  return METRICS[metric].aggregate;
}

function leaderboardSql(aggregate: LeaderboardAggregate): string {
  return [
    `SELECT r.user_id, ${aggregate}(r.value) AS score`,
    'FROM readings r',
    'WHERE r.metric = ? AND r."time" >= ? AND r."time" < ?',
    'GROUP BY r.user_id',
    'ORDER BY score DESC, r.user_id ASC',
    'LIMIT ?',
  ].join('\n');
}

/** The only two leaderboard texts that exist. */
export const LEADERBOARD_SQL: Readonly<Record<LeaderboardAggregate, string>> = {
  sum: leaderboardSql('sum'),
  avg: leaderboardSql('avg'),
};

export function leaderboardStatement(request: LeaderboardRequest): PreparedStatement {
  const aggregate = leaderboardAggregate(request.metric);
  return {
    name: `fitbit_leaderboard_${aggregate}`,
    sql: LEADERBOARD_SQL[aggregate],
    params: [
      { type: 'token', value: request.metric },
      { type: 'timestamp', value: request.from },
      { type: 'timestamp', value: request.to },
      { type: 'bigint', value: request.limit },
    ],
  };
}

export function parseLeaderboardRows(rows: readonly unknown[][], statement: string): LeaderboardEntry[] {
  const entries = rows.map((row) => ({ userId: stringOf(statement, row[0]), value: numberOf(statement, row[1]) }));
  let rank = 0;
  return entries.map((e, i) => {
    const prev = entries[i - 1];
    if (prev === undefined || prev.value !== e.value) rank = i + 1;
    return { rank, userId: e.userId, value: e.value };
  });
}
