import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'What an erasure removed from one store.' })
export class StoreErasure {
  @Field(() => String, {
    description: 'readings, readings_minute, erasure_ledger, trino_result_cache, and any store added later.',
  })
  store!: string;

  @Field(() => Int, { description: 'Rows, files or entries removed.' })
  removed!: number;

  @Field(() => String, { nullable: true, description: 'What the number counts, or what else was done there.' })
  detail?: string | null;
}

@ObjectType({ description: "The answer of eraseUserData: the user's data removed, counted per store." })
export class ErasureResult {
  @Field(() => ID)
  userId!: string;

  @Field(() => Date)
  erasedAt!: Date;

  @Field(() => [StoreErasure])
  stores!: StoreErasure[];
}
