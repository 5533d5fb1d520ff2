import { Ctx, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from './context.js';
import { maySeeServiceDetails, principalOf } from '../auth/index.js';
import { ServiceHealth } from './types/health.type.js';

@Resolver()
export class HealthResolver {
  @Query(() => [ServiceHealth], {
    description:
      'Asks Kafka, Flink, Trino and Postgres a real question each (one probe shared by concurrent callers); detail for admin only.',
  })
  async health(@Ctx() ctx: GatewayContext): Promise<ServiceHealth[]> {
    const results = await ctx.services.health.check();
    if (maySeeServiceDetails(principalOf(ctx))) return results;
    // Versions, hosts and failure reasons help an attacker more than a dashboard.
    return results.map((r) => ({ ...r, detail: null }));
  }
}
