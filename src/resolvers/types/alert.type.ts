import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'An alert raised by a Flink rule (alert v1).' })
export class Alert {
  @Field(() => ID, { description: 'Derived from what the alert is about: a repeated alert has the same id.' })
  alertId!: string;

  @Field(() => ID)
  userId!: string;

  @Field(() => String, { description: 'The rule, e.g. elevated_resting_heart_rate or low_spo2.' })
  kind!: string;

  @Field(() => Date)
  time!: Date;

  @Field(() => String)
  message!: string;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: 'The numbers behind the alert; fields depend on the kind.',
  })
  details!: Record<string, unknown> | null;

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
