import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({
  simpleResolvers: true,
  description:
    'What eraseUserData removed, counted per store (docs/privacy.md). Every count is what this call removed: 0 for a store that held nothing of the user, or on a repeated erasure.',
})
export class ErasureResult {
  @Field(() => ID)
  userId!: string;

  @Field(() => Date, {
    description:
      "The ledger's time of this erasure: the user's messages appended to Kafka before it are never stored again (replays, new consumer groups); those appended after it are stored as usual.",
  })
  erasedAt!: Date;

  @Field(() => Int, { description: 'Rows removed from the readings table.' })
  readings!: number;

  @Field(() => Int, {
    description:
      'Per-minute rollup rows (one per metric and minute that had readings of the user) removed or recomputed.',
  })
  rollupMinutes!: number;

  @Field(() => Int, { description: 'Stored metric windows removed (the windows query).' })
  windows!: number;

  @Field(() => Int, { description: 'Stored alerts removed (the alerts query).' })
  alerts!: number;

  @Field(() => Int, {
    description:
      "Cached aggregate answers (cohortStats, leaderboard) dropped from this gateway's cache, since they may have counted the user.",
  })
  cachesCleared!: number;
}
