import { Field, ObjectType } from 'type-graphql';
import { AggregateWithSum } from './aggregate.type.js';

@ObjectType({
  simpleResolvers: true,
  description:
    'One bucket of a series, labelled by its start instant. Empty buckets are omitted unless fill asks for them; with maxPoints a point merges adjacent buckets.',
})
export class SeriesPoint extends AggregateWithSum {
  @Field(() => Date, { description: 'Start of the bucket.' })
  time!: Date;

  @Field(() => Boolean, {
    description: 'True for a bucket without readings (count 0) whose values come from the fill.',
  })
  filled!: boolean;
}
