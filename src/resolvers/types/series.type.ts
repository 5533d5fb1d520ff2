import { Field, Float, Int, ObjectType } from 'type-graphql';
import { AggregateWithSum } from './aggregate.type.js';

@ObjectType({
  simpleResolvers: true,
  description:
    'One bucket of a series, labelled by its start (a local hour or day for HOUR and DAY in a timeZone). Empty buckets are omitted unless a fill is asked for.',
})
export class SeriesPoint extends AggregateWithSum {
  @Field(() => Date, { description: 'Start of the bucket.' })
  time!: Date;

  @Field(() => Boolean, {
    description: 'True for a bucket without readings that a fill made up (count 0); false for buckets with readings.',
  })
  filled!: boolean;
}

@ObjectType({
  simpleResolvers: true,
  description:
    'A series as parallel lists, index i being bucket i, oldest first: the points of `series` with the same arguments, field by field. Cheaper to answer and to send than a list of points, and the shape chart libraries take.',
})
export class SeriesColumns {
  @Field(() => [Date], { description: 'Start of each bucket.' })
  times!: Date[];

  @Field(() => [Int])
  count!: number[];

  @Field(() => [Float])
  avg!: number[];

  @Field(() => [Float])
  min!: number[];

  @Field(() => [Float])
  max!: number[];

  @Field(() => [Float])
  sum!: number[];

  @Field(() => [Boolean], { description: 'True where a fill made the bucket up (count 0).' })
  filled!: boolean[];
}
