import { Ctx, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from '../gateway/context.js';
import { PipelineStatus } from './types/status.type.js';

@Resolver()
export class StatusResolver {
  @Query(() => PipelineStatus, {
    description:
      'Topics and end offsets, consumer-group lag per partition, the Flink job and its last checkpoint, and backing-service health (admin).',
  })
  pipelineStatus(@Ctx() ctx: GatewayContext): Promise<PipelineStatus> {
    return ctx.services.pipeline.status();
  }
}
