import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType({ description: 'One backing service as the gateway sees it right now.' })
export class ServiceHealth {
  @Field(() => String)
  name!: string;

  @Field(() => Boolean)
  ok!: boolean;

  @Field(() => Float, { nullable: true })
  latencyMs!: number | null;

  @Field(() => String, { nullable: true })
  detail!: string | null;
}
