import { Field, ObjectType } from 'type-graphql';
import { AggregateWithSum } from './aggregate.type.js';

@ObjectType({
  simpleResolvers: true,
  description:
    'One bucket of a series: aligned to the Unix epoch in UTC, labelled by its start. Empty buckets are omitted.',
})
export class SeriesPoint extends AggregateWithSum {
  @Field(() => Date, { description: 'Start of the bucket.' })
  time!: Date;
}
