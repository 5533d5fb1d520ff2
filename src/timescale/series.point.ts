/** One bucket of a series as the services hand it to the resolvers. */
export interface SeriesPoint {
  /** Start of the bucket. */
  time: Date;
  /** Readings in the bucket: 0 for a filled bucket. */
  count: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
  /** True when gap filling made the bucket up (no readings in it). */
  filled: boolean;
}

/** The last reading before a range: what gap filling carries into its first buckets. */
export interface PriorReading {
  time: Date;
  value: number;
}
