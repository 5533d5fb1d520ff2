/**
 * What the cross-user aggregates may show a role that may not read single users (analyst).
 *
 * An aggregate over a short enough range, or over few enough users, is one user's raw data under
 * another name: `leaderboard` over 1 ms lists each user's single reading at that instant, and a
 * `cohortStats` bucket of one user is that user's series. So, for every role but admin:
 *
 * - a range shorter than `minRangeMs` is refused with RANGE_TOO_SHORT;
 * - a cohortStats bucket computed from fewer than `minCohortUsers` users is left out (as an empty
 *   bucket is), so the answer never says what a small group, or one person, did.
 *
 * Admin may read every user's raw data anyway, so nothing is withheld from it. docs/security.md
 * states the rule.
 */
import type { Config } from '../config.js';
import { AppError, ErrorCode } from '../errors.js';
import { hasRole, type Principal } from './principal.js';

export interface AggregatePrivacy {
  /** Throws RANGE_TOO_SHORT for a range under the minimum (a range not in order is left to INVALID_RANGE). */
  checkRange(principal: Principal, from: Date, to: Date): void;
  /** The buckets this principal may see. */
  cohort<T extends { users: number }>(principal: Principal, points: readonly T[]): readonly T[];
}

const exempt = (p: Principal): boolean => hasRole(p, 'admin');

export function createAggregatePrivacy(rules: Config['privacy']): AggregatePrivacy {
  return {
    checkRange(principal, from, to) {
      if (exempt(principal) || rules.minRangeMs <= 0) return;
      const span = to.getTime() - from.getTime();
      if (!(span > 0) || span >= rules.minRangeMs) return;
      throw new AppError(
        ErrorCode.RANGE_TOO_SHORT,
        `aggregates cover at least ${rules.minRangeMs / 1000} s for this role; widen [from, to)`,
        { details: { minRangeSeconds: rules.minRangeMs / 1000 } },
      );
    },
    cohort(principal, points) {
      if (exempt(principal) || rules.minCohortUsers <= 1) return points;
      return points.filter((p) => p.users >= rules.minCohortUsers);
    },
  };
}
