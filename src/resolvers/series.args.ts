/**
 * The arguments `series` and `User.series` share beyond metric, range and bucket: zone, fill and
 * downsampling. One ArgsType, so both fields say the same and cannot drift.
 */
import { ArgsType, Field, Int } from 'type-graphql';
import { Fill } from './types/enums.js';

@ArgsType()
export class SeriesShapeArgs {
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
