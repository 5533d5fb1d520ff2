import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'One bucket of a series: aligned to the Unix epoch in UTC, labelled by its start. Empty buckets are omitted.' })
export class SeriesPoint {
  @Field(() => Date, { description: 'Start of the bucket.' })
  time!: Date;

  @Field(() => Int)
  count!: number;

  @Field(() => Float)
  avg!: number;

  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field(() => Float)
  sum!: number;
}
