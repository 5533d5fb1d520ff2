import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { principalOf } from '../auth/index.js';
import type { GatewayContext } from './context.js';
import { ErasureResult } from './types/erasure.type.js';

@Resolver()
export class ErasureResolver {
  @Mutation(() => ErasureResult, {
    description:
      "Erases one user's data from every store the gateway keeps: readings and their per-minute rollup, stored windows and alerts, cached aggregates, and records the erasure in the ledger so that the user's messages still on Kafka are never stored again. For an admin, or the user themself. What stays until Kafka's retention: docs/privacy.md.",
  })
  eraseUserData(@Arg('userId', () => ID) userId: string, @Ctx() ctx: GatewayContext): Promise<ErasureResult> {
    return ctx.services.erasure.erase(userId, principalOf(ctx).subject);
  }
}
