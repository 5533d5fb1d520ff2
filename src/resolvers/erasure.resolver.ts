import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { GatewayContext } from './context.js';
import { ErasureResult } from './types/erasure.type.js';

@Resolver()
export class ErasureResolver {
  @Mutation(() => ErasureResult, {
    description:
      "Removes the user's data from every store (readings, rollups, result caches) and records it in the erasure ledger, so messages of the user still on Kafka are never stored again; readings sent afterwards are stored normally. For an admin or the user themself. See docs/privacy.md.",
  })
  eraseUserData(@Arg('userId', () => ID) userId: string, @Ctx() ctx: GatewayContext): Promise<ErasureResult> {
    return ctx.services.erasure.erase(userId, ctx.principal?.subject ?? 'unknown');
  }
}
