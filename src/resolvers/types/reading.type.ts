import { Field, Float, ID, ObjectType } from 'type-graphql';
import { Metric } from './enums.js';

@ObjectType({ simpleResolvers: true, description: 'One stored reading.' })
export class Reading {
  @Field(() => ID)
  userId!: string;

  @Field(() => Metric)
  metric!: Metric;

  @Field(() => Date)
  time!: Date;

  @Field(() => Float)
  value!: number;

  @Field(() => String, { nullable: true })
  deviceId!: string | null;
}

@ObjectType({
  simpleResolvers: true,
  description: 'A page of readings in time order; pass endCursor as `after` for the next page.',
})
export class ReadingConnection {
  @Field(() => [Reading])
  nodes!: Reading[];

  @Field(() => String, { nullable: true, description: 'Opaque; null when the page is empty.' })
  endCursor!: string | null;

  @Field(() => Boolean)
  hasNextPage!: boolean;
}
