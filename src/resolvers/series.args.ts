/**
 * The arguments `series`, `seriesColumns` and their User fields share (all but `userId`): metric,
 * range, bucket, zone, fill and downsampling. One ArgsType, so the four fields say the same and
 * cannot drift.
 */
import { ArgsType, Field, Int } from 'type-graphql';
import type { BucketName, WireMetric } from '../domain/metrics.js';
import type { SeriesArgs } from '../timescale/series.service.js';
import { Bucket, Fill, Metric } from './types/enums.js';

@ArgsType()
export class SeriesFieldArgs {
  @Field(() => Metric)
  metric!: Metric;

  @Field(() => Date)
  from!: Date;

  @Field(() => Date)
  to!: Date;

  @Field(() => Bucket)
  bucket!: Bucket;

  @Field(() => String, {
    nullable: true,
    defaultValue: 'UTC',
    description:
      'IANA time zone (e.g. Europe/Berlin) of HOUR and DAY buckets: local hours and days, a DST day has 23 or 25 hours. Unknown zones fail with INVALID_TIME_ZONE.',
  })
  timeZone!: string | null;

  @Field(() => Fill, {
    nullable: true,
    defaultValue: Fill.NONE,
    description: 'PREVIOUS or LINEAR: every bucket of [from, to) is present, empty ones with filled: true and count 0.',
  })
  fill!: Fill | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'At most this many points: adjacent buckets are merged, keeping the min and max (1 to the server point limit). Lets a long range at a fine bucket through instead of TOO_MANY_POINTS.',
  })
  maxPoints?: number | null;
}

/** The service's arguments from a series field's. Stored metrics are wire names, the Metric enum's values. */
export function seriesArgs(a: SeriesFieldArgs): SeriesArgs {
  return {
    metric: a.metric as `${Metric}` as WireMetric,
    from: a.from,
    to: a.to,
    bucket: a.bucket as `${Bucket}` as BucketName,
    timeZone: a.timeZone,
    fill: a.fill,
    maxPoints: a.maxPoints,
  };
}
