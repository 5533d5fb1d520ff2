/** What an erasure removed from one store. */
export interface StoreErasure {
  /** The store: `readings`, `readings_minute`, `erasure_ledger`, `trino_result_cache`, ... */
  store: string;
  /** Rows, files or entries removed. */
  removed: number;
  /** What the number counts, or what else was done there. */
  detail?: string | undefined;
}

export interface ErasureOutcome {
  userId: string;
  erasedAt: Date;
  stores: StoreErasure[];
}

/**
 * One store's part of an erasure. Steps run in order; each is idempotent, so an erasure that
 * failed half-way is completed by asking again.
 */
export interface ErasureStep {
  name: string;
  run(userId: string): Promise<StoreErasure[]>;
}
