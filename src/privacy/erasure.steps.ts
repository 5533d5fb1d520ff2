/**
 * The one list of what erasing a user touches, in order. A store that keeps user data adds its
 * step here.
 *
 * 1. Kafka: the ingestion topic's end offsets, so the ledger can tell messages sent before the
 *    erasure from later ones. Asked first: a message acknowledged before this moment is below them.
 * 2. Time-series store: the ledger, the readings and the per-minute rollup, in one transaction
 *    (src/timescale/erasure.store.ts).
 * 3. Result caches, last, so that an aggregate computed while the deletes ran is not served after
 *    them: this process's Trino result cache is emptied; other gateway instances' entries expire
 *    within TRINO_CACHE_TTL_MS.
 */
import type { PartitionOffsets } from '../kafka/offsets.js';
import type { LedgerEntry } from '../timescale/erasure.store.js';
import type { ErasureStep, StoreErasure } from '../domain/erasure.js';

export interface ErasureStores {
  /** src/timescale/erasure.store.ts `eraseFromTimescale`, bound to the pool. */
  eraseTimescale(userId: string, ledger: readonly LedgerEntry[]): Promise<StoreErasure[]>;
  /** The ingestion topic's name. */
  topic: string;
  /** The topic's end offsets (throws KAFKA_UNAVAILABLE when Kafka cannot say). */
  endOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Empties this process's aggregate result cache; returns the entries dropped. */
  clearResultCache(): number;
}

export function erasureSteps(stores: ErasureStores): ErasureStep[] {
  return [
    {
      name: 'readings, rollup and ledger',
      async run(userId) {
        const ends = await stores.endOffsets(stores.topic);
        return stores.eraseTimescale(
          userId,
          ends.map((e) => ({ topic: stores.topic, partition: e.partition, beforeOffset: e.endOffset })),
        );
      },
    },
    {
      name: 'result caches',
      async run() {
        return [{ store: 'trino_result_cache', removed: stores.clearResultCache(), detail: 'cached aggregate answers dropped' }];
      },
    },
  ];
}
