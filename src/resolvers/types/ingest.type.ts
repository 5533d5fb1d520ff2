import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Metric } from './enums.js';
import { DateTimeScalar } from './scalars.js';

@InputType({ description: 'One reading (reading v1). eventId is filled in by the gateway when absent.' })
export class ReadingInput {
  @Field(() => ID)
  userId!: string;

  @Field(() => Metric)
  metric!: Metric;

  @Field(() => DateTimeScalar)
  time!: Date;

  @Field(() => Float)
  value!: number;

  @Field(() => String, { nullable: true })
  deviceId?: string | null;

  @Field(() => ID, { nullable: true })
  eventId?: string | null;
}

@ObjectType({ description: 'A reading that was not accepted, by its index in the request.' })
export class RejectedReading {
  @Field(() => Int)
  index!: number;

  @Field(() => String)
  code!: string;

  @Field(() => String)
  message!: string;
}

@ObjectType({ description: 'accepted readings were acknowledged by Kafka before this answer was sent.' })
export class IngestResult {
  @Field(() => Int)
  accepted!: number;

  @Field(() => Int, {
    description:
      'Accepted readings whose identity (userId, metric, time to the millisecond) an earlier reading of this batch already had; stored once. accepted - duplicates is what this batch adds.',
  })
  duplicates!: number;

  @Field(() => [RejectedReading])
  rejected!: RejectedReading[];
}
