/**
 * graphql-js's `subscribe` with the same behaviour but a smaller footprint per open subscription. graphql-js maps the source stream through an object of six closures and
 * keeps an async frame suspended for every pending `next()`; a gateway holding tens of thousands of
 * idle subscriptions pays that for each. Here the mapping is one object whose methods live on its
 * prototype, and a pending `next()` is a promise reaction.
 *
 * Semantics follow graphql-js 16 (`subscribe` and `mapAsyncIterator`): each source event is
 * executed with the event as root value; a failure while mapping closes the source (ignoring a
 * failure to close) and rethrows; `return()` and `throw()` are passed to the source.
 */
import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';

type Step = IteratorResult<ExecutionResult, unknown>;

/** The response stream of one subscription: source events executed into results. */
class ResponseStream implements AsyncGenerator<ExecutionResult, unknown, unknown> {
  /** `this.map` bound once, so a pending `next()` allocates no closure of its own. */
  private readonly mapStep: (step: IteratorResult<unknown>) => Promise<Step>;

  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly args: ExecutionArgs,
  ) {
    this.mapStep = this.map.bind(this);
  }

  next(): Promise<Step> {
    return this.source.next().then(this.mapStep);
  }

  return(): Promise<Step> {
    return this.source.return
      ? this.source.return().then(this.mapStep)
      : Promise.resolve({ done: true, value: undefined });
  }

  async throw(error: unknown): Promise<Step> {
    if (this.source.throw) return this.map(await this.source.throw(error));
    await this.closeSource();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async map(step: IteratorResult<unknown>): Promise<Step> {
    if (step.done) return step;
    try {
      return { done: false, value: await execute({ ...this.args, rootValue: step.value }) };
    } catch (error) {
      await this.closeSource();
      throw error;
    }
  }

  private async closeSource(): Promise<void> {
    try {
      await this.source.return?.();
    } catch {
      // The mapping error is the one to report, not a failure to close the source after it.
    }
  }
}

/** Resolves to the response stream, or to the result with errors when the subscription cannot start. */
export async function subscribe(
  args: ExecutionArgs,
): Promise<AsyncGenerator<ExecutionResult, unknown, unknown> | ExecutionResult> {
  const resultOrStream = await createSourceEventStream(args);
  if (!isAsyncIterable(resultOrStream)) return resultOrStream;
  return new ResponseStream(resultOrStream[Symbol.asyncIterator](), args);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}
