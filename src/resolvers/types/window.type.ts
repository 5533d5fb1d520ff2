import { Field, ID, Int, ObjectType } from 'type-graphql';
import { AggregateWithSum } from './aggregate.type.js';
import { Metric } from './enums.js';

@ObjectType({
  simpleResolvers: true,
  description: 'One closed tumbling window of one user and metric, as computed by the Flink job (metric window v1).',
})
export class MetricWindow extends AggregateWithSum {
  @Field(() => ID)
  userId!: string;

  @Field(() => Metric)
  metric!: Metric;

  @Field(() => Date, { description: 'Inclusive start, aligned to the Unix epoch in UTC.' })
  windowStart!: Date;

  @Field(() => Date, { description: 'Exclusive end.' })
  windowEnd!: Date;

  @Field(() => Int, {
    description:
      'Events of this subscription dropped just before this one because the client read too slowly (its server-side buffer was full). 0 normally.',
  })
  dropped!: number;

  @Field(() => String, {
    description:
      'Where this event sits in the stream: pass it as `after` to resume a subscription from here. Opaque and tamper-evident.',
  })
  cursor!: string;
}
