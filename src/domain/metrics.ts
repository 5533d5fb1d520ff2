/**
 * The metric catalogue of docs/contracts.md (a contract): lower snake case on the wire and in the
 * database, upper case as the GraphQL enum.
 */
export const METRICS = {
  heart_rate: { unit: 'bpm', min: 20, max: 250, aggregate: 'avg' },
  steps: { unit: 'steps', min: 0, max: 1000, aggregate: 'sum' },
  calories: { unit: 'kcal', min: 0, max: 100, aggregate: 'sum' },
  distance: { unit: 'm', min: 0, max: 2000, aggregate: 'sum' },
  floors: { unit: 'floors', min: 0, max: 100, aggregate: 'sum' },
  elevation: { unit: 'm', min: 0, max: 1000, aggregate: 'sum' },
  active_zone_minutes: { unit: 'min', min: 0, max: 60, aggregate: 'sum' },
  spo2: { unit: '%', min: 50, max: 100, aggregate: 'avg' },
  hrv_rmssd: { unit: 'ms', min: 0, max: 500, aggregate: 'avg' },
  breathing_rate: { unit: 'breaths/min', min: 2, max: 60, aggregate: 'avg' },
  skin_temperature_delta: { unit: 'degC', min: -10, max: 10, aggregate: 'avg' },
} as const satisfies Record<string, { unit: string; min: number; max: number; aggregate: 'sum' | 'avg' }>;

/** A metric as it travels on Kafka and sits in the database. */
export type WireMetric = keyof typeof METRICS;
export const WIRE_METRICS = Object.keys(METRICS) as WireMetric[];

export function isWireMetric(value: unknown): value is WireMetric {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(METRICS, value);
}

/** GraphQL enum value (HEART_RATE) <-> wire value (heart_rate). */
export const toWireMetric = (graphql: string): WireMetric | undefined => {
  const wire = graphql.toLowerCase();
  return isWireMetric(wire) ? wire : undefined;
};
export const toGraphQLMetric = (wire: WireMetric): string => wire.toUpperCase();

/** Bucket widths, aligned to the Unix epoch in UTC; a bucket is labelled by its start. */
export const BUCKETS = {
  SECOND: 1_000,
  MINUTE: 60_000,
  FIVE_MINUTES: 300_000,
  FIFTEEN_MINUTES: 900_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
} as const;
export type BucketName = keyof typeof BUCKETS;

export function bucketStart(timeMs: number, bucket: BucketName): number {
  const w = BUCKETS[bucket];
  return Math.floor(timeMs / w) * w;
}
