/**
 * The aggregate fields that series points, Flink windows and cohort buckets share. The bases are
 * object types of their own only for type-graphql's inheritance; no field returns them, so the
 * schema never shows them.
 */
import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType()
export class Aggregate {
  @Field(() => Int)
  count!: number;

  @Field(() => Float)
  avg!: number;

  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;
}

@ObjectType()
export class AggregateWithSum extends Aggregate {
  @Field(() => Float)
  sum!: number;
}
