/**
 * The aggregate fields that series points, Flink windows and cohort buckets share. The bases are
 * object types of their own only for type-graphql's inheritance; no field returns them, so the
 * schema never shows them.
 *
 * The read types (these, SeriesPoint, CohortPoint, LeaderboardEntry, MetricWindow, Reading,
 * ReadingConnection, User) use `simpleResolvers`: their plain property fields are read by
 * graphql-js's default resolver instead of a type-graphql wrapper per field, which matters at
 * 8,640 field resolutions for a day of MINUTE buckets. Middleware or @Authorized on one of their
 * fields would need `simple: false` on that field.
 */
import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({ simpleResolvers: true })
export class Aggregate {
  @Field(() => Int)
  count!: number;

  @Field(() => Float)
  avg!: number;

  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;
}

@ObjectType({ simpleResolvers: true })
export class AggregateWithSum extends Aggregate {
  @Field(() => Float)
  sum!: number;
}
