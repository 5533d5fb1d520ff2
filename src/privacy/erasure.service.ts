/**
 * eraseUserData: removes one user from every store, step by step (erasure.steps.ts says which
 * stores and in what order), and records what was removed. See docs/privacy.md for what is erased
 * where and when, and what stays until Kafka's retention.
 */
import type { Logger } from '../logger.js';
import { checkUserId } from '../timescale/series.range.js';
import type { ErasureOutcome, ErasureStep, StoreErasure } from '../domain/erasure.js';

export interface ErasureService {
  /** Throws INVALID_USER_ID before touching anything; a failing store fails the call (ask again). */
  erase(userId: string, requestedBy: string): Promise<ErasureOutcome>;
}

export function createErasureService(options: {
  steps: readonly ErasureStep[];
  record: (userId: string, requestedBy: string, stores: readonly StoreErasure[]) => Promise<Date>;
  logger: Logger;
}): ErasureService {
  const log = options.logger.child({ part: 'erasure' });
  return {
    async erase(userId, requestedBy) {
      checkUserId(userId);
      const stores: StoreErasure[] = [];
      for (const step of options.steps) {
        try {
          stores.push(...(await step.run(userId)));
        } catch (err) {
          log.error({ userId, step: step.name, done: stores, err: (err as Error).message }, 'erasure step failed');
          throw err;
        }
      }
      const erasedAt = await options.record(userId, requestedBy, stores);
      log.info({ userId, requestedBy, stores }, 'user data erased');
      return { userId, erasedAt, stores };
    },
  };
}
