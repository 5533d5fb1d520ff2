import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({
  simpleResolvers: true,
  description:
    'A user as the time-series store knows them. Any well-formed id is a User: readings may not have arrived yet, so a user without readings has an empty series and a null latest.',
})
export class User {
  @Field(() => ID)
  id!: string;
}
