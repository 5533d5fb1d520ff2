/**
 * `user`/`users` and the User fields. The fields go through the request's DataLoaders, so a list
 * of users costs one statement per distinct field arguments, not one per user.
 */
import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from './context.js';
import type { WireMetric } from '../domain/metrics.js';
import { AppError, ErrorCode } from '../errors.js';
import { checkUserId } from '../timescale/series.range.js';
import { Metric } from './types/enums.js';
import { Reading } from './types/reading.type.js';
import { SeriesColumns, SeriesPoint } from './types/series.type.js';
import { SeriesFieldArgs, seriesArgs } from './series.args.js';
import { User } from './types/user.type.js';

/** One request's list of users; each User field is one statement for all of them. */
export const USERS_MAX_IDS = 1000;

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, {
    nullable: true,
    description: 'Any well-formed id is a User (readings may not have arrived yet); its fields are then empty.',
  })
  user(@Arg('id', () => ID) id: string): User {
    return { id: checkUserId(id) };
  }

  @Query(() => [User], { description: `Users in the order asked, duplicates kept; at most ${USERS_MAX_IDS} ids.` })
  users(@Arg('ids', () => [ID]) ids: string[]): User[] {
    if (ids.length > USERS_MAX_IDS) {
      throw new AppError(ErrorCode.BAD_USER_INPUT, `ids: expected at most ${USERS_MAX_IDS} ids, got ${ids.length}`, {
        details: { max: USERS_MAX_IDS },
      });
    }
    return ids.map((id) => ({ id: checkUserId(id) }));
  }

  @FieldResolver(() => [SeriesPoint])
  series(
    @Root() user: User,
    @Ctx() ctx: GatewayContext,
    @Args(() => SeriesFieldArgs) fieldArgs: SeriesFieldArgs,
  ): Promise<SeriesPoint[]> {
    const args = seriesArgs(fieldArgs);
    // Checked here so a bad range fails each field with its code before any batch is formed.
    ctx.services.series.check(args);
    return ctx.loaders.series(args).load(user.id);
  }

  @FieldResolver(() => SeriesColumns, {
    description: 'The points of `series` with the same arguments as parallel lists, oldest first.',
  })
  seriesColumns(
    @Root() user: User,
    @Ctx() ctx: GatewayContext,
    @Args(() => SeriesFieldArgs) fieldArgs: SeriesFieldArgs,
  ): Promise<SeriesColumns> {
    const args = seriesArgs(fieldArgs);
    ctx.services.series.check(args);
    return ctx.loaders.seriesColumns(args).load(user.id);
  }

  @FieldResolver(() => Reading, {
    nullable: true,
    description: 'The most recent reading of the metric; null when there is none.',
  })
  latest(
    @Root() user: User,
    @Ctx() ctx: GatewayContext,
    @Arg('metric', () => Metric) metric: Metric,
  ): Promise<Reading | null> {
    return ctx.loaders.latest(metric as `${Metric}` as WireMetric).load(user.id) as Promise<Reading | null>;
  }
}
