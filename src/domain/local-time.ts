/**
 * Buckets in a time zone. HOUR and DAY buckets are the zone's local hours and local days (a day of
 * a DST change has 23 or 25 hours); buckets under an hour stay aligned to the Unix epoch whatever
 * the zone, because every zone in use today is offset from UTC by a whole number of quarter hours
 * and a local FIVE_MINUTES bucket would be the epoch one anyway. Buckets are labelled by their
 * start instant. Pure (Luxon for the zone rules), so the boundaries are unit-tested.
 *
 * Local hours are found from the instant itself (the instant minus the minutes and seconds the
 * local clock shows), never by converting a local wall time back to an instant: in the hour that
 * a clock turned back repeats, those are two different hours, and a round trip through the wall
 * time would merge them.
 */
import { DateTime, IANAZone } from 'luxon';
import { BUCKETS, type BucketName } from './metrics.js';

export const UTC = 'UTC';

/** An IANA name such as `Europe/Berlin`, `America/Argentina/Buenos_Aires`, `Etc/GMT+3` or `UTC`. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/;

/** True for a zone name of the IANA database that this process knows; offsets such as `+01:00` are not names. */
export function isTimeZone(name: unknown): name is string {
  return typeof name === 'string' && name.length <= 64 && ZONE_NAME.test(name) && IANAZone.isValidZone(name);
}

/** Whether a bucket of this width follows the zone's clock (HOUR, DAY) or the epoch (shorter). */
export function isLocalBucket(bucket: BucketName, zone: string): boolean {
  return zone !== UTC && BUCKETS[bucket] >= BUCKETS.HOUR;
}

/** Start instant (epoch ms) of the bucket that holds `timeMs`. */
export function bucketStartIn(timeMs: number, bucket: BucketName, zone: string): number {
  const width = BUCKETS[bucket];
  if (!isLocalBucket(bucket, zone)) return Math.floor(timeMs / width) * width;
  const local = DateTime.fromMillis(timeMs, { zone });
  if (bucket === 'HOUR') return timeMs - ((local.minute * 60 + local.second) * 1000 + local.millisecond);
  return local.startOf('day').toMillis();
}

/** Start instant of the bucket after the one starting at `startMs`. */
export function nextBucketStart(startMs: number, bucket: BucketName, zone: string): number {
  if (bucket !== 'DAY' || !isLocalBucket(bucket, zone)) return startMs + BUCKETS[bucket];
  return DateTime.fromMillis(startMs, { zone }).plus({ days: 1 }).startOf('day').toMillis();
}

/** Start instants of every bucket that `[fromMs, toMs)` touches, in order. */
export function bucketStarts(fromMs: number, toMs: number, bucket: BucketName, zone: string): number[] {
  const out: number[] = [];
  for (let t = bucketStartIn(fromMs, bucket, zone); t < toMs; t = nextBucketStart(t, bucket, zone)) out.push(t);
  return out;
}
