/**
 * The context of an operation that arrives over WebSocket. For a subscription the gateway holds it
 * as long as the subscription is open, thousands at a time, so what a subscription never uses (a
 * request id, DataLoaders) is made on first use instead of up front.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import { createLoaders, type Loaders } from '../timescale/loaders.js';
import type { GatewayContext, GatewayServices } from '../resolvers/context.js';

export class WsOperationContext implements GatewayContext {
  private id: string | undefined;
  private batch: Loaders | undefined;

  constructor(
    readonly services: GatewayServices,
    readonly authorization: string | undefined,
    readonly principal: Principal | undefined,
  ) {}

  get requestId(): string {
    return (this.id ??= randomUUID());
  }

  get loaders(): Loaders {
    return (this.batch ??= createLoaders(this.services));
  }
}
