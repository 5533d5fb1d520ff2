import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Aggregate } from './aggregate.type.js';

@ObjectType({
  simpleResolvers: true,
  description:
    'One bucket across all users, labelled by its start (epoch-aligned; HOUR and DAY local to the timeZone); p50/p95 are approximate (see docs/trino.md).',
})
export class CohortPoint extends Aggregate {
  @Field(() => Date)
  time!: Date;

  @Field(() => Int, { description: 'Distinct users with readings in the bucket.' })
  users!: number;

  @Field(() => Float)
  p50!: number;

  @Field(() => Float)
  p95!: number;
}

@ObjectType({
  simpleResolvers: true,
  description: 'A user ranked by the metric over the range: sum for count-like metrics, average for the others.',
})
export class LeaderboardEntry {
  @Field(() => Int)
  rank!: number;

  @Field(() => ID)
  userId!: string;

  @Field(() => Float)
  value!: number;
}
