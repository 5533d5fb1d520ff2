import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from './context.js';
import { AppError, ErrorCode } from '../errors.js';
import { DeadLetter, PipelineStatus } from './types/status.type.js';

const MAX_DEAD_LETTERS = 200;

@Resolver()
export class StatusResolver {
  @Query(() => PipelineStatus, {
    description:
      'Topics and end offsets, consumer-group lag per partition, the Flink job and its last checkpoint, and backing-service health (admin).',
  })
  pipelineStatus(@Ctx() ctx: GatewayContext): Promise<PipelineStatus> {
    return ctx.services.pipeline.status();
  }

  @Query(() => [DeadLetter], {
    description:
      'The most recent messages of the dead-letter topic, newest first, with the code and reason the worker refused each with (admin). limit 1 to 200.',
  })
  deadLetters(
    @Ctx() ctx: GatewayContext,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 20 }) limit: number | null,
  ): DeadLetter[] {
    const n = limit ?? 20;
    if (!Number.isInteger(n) || n < 1 || n > MAX_DEAD_LETTERS)
      throw new AppError(ErrorCode.BAD_USER_INPUT, `limit: expected 1 to ${MAX_DEAD_LETTERS}`);
    return ctx.services.live.deadLetters(n).map((d) => ({ ...d, requestId: d.requestId ?? null }));
  }
}
