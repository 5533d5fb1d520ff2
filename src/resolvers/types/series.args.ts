import { ArgsType, Field, Int } from 'type-graphql';
import type { SeriesArgs } from '../../timescale/series.service.js';
import { Fill } from './enums.js';

/** The arguments `series` and `User.series` share beside metric, range and bucket. */
@ArgsType()
export class SeriesShapeArgs {
  @Field(() => String, {
    nullable: true,
    description:
      'IANA time zone (default UTC) whose local hours and days the HOUR and DAY buckets follow; shorter buckets stay epoch-aligned. Unknown zones: INVALID_TIME_ZONE.',
  })
  timeZone?: string | null;

  @Field(() => Fill, {
    nullable: true,
    defaultValue: Fill.NONE,
    description: 'Gap filling; with PREVIOUS or LINEAR every bucket is present.',
  })
  fill?: Fill | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'At most this many points: adjacent buckets merge (counts and sums add, min and max kept), so the range may hold more buckets than SERIES_MAX_POINTS.',
  })
  maxPoints?: number | null;
}

export const shapeOf = (a: SeriesShapeArgs): Pick<SeriesArgs, 'timeZone' | 'fill' | 'maxPoints'> => ({
  timeZone: a.timeZone ?? null,
  fill: (a.fill ?? Fill.NONE) as `${Fill}`,
  maxPoints: a.maxPoints ?? null,
});
