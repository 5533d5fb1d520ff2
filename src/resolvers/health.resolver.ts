import { Ctx, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from '../gateway/context.js';
import { ServiceHealth } from './types/health.type.js';

@Resolver()
export class HealthResolver {
  @Query(() => [ServiceHealth], { description: 'Asks Kafka, Flink, Trino and Postgres a real question each.' })
  health(@Ctx() ctx: GatewayContext): Promise<ServiceHealth[]> {
    return ctx.services.health.check();
  }
}
