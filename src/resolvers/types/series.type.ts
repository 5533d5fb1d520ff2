import { Field, ObjectType } from 'type-graphql';
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
