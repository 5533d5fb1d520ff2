/**
 * One GraphQL subscription's end of the fan-out: an async iterator over a bounded queue.
 *
 * The hub pushes synchronously and never waits for a subscriber. graphql-ws pulls the next event
 * only after the previous one was written to the socket, so a client that reads slowly (or not at
 * all) lets its queue fill; then the oldest events are dropped and counted, and the next event it
 * does receive says how many it missed (`dropped`). Memory per subscriber is bounded by the
 * queue's capacity plus what the socket buffers.
 */
import { BoundedQueue } from './bounded-queue.js';

/** What a subscription yields: the shared event and how many were dropped just before it. */
export interface Delivery<T> {
  event: T;
  dropped: number;
}

/**
 * The owner's side of its subscribers. One hooks object serves all of an owner's subscribers (it
 * is told which one), so a subscriber carries no closures of its own.
 */
export interface SubscriberHooks<T> {
  /** Called once when the subscription ends, by the client or by the server. */
  onClose(sub: Subscriber<T>): void;
  /** Called for every event dropped because the queue was full. */
  onDrop(sub: Subscriber<T>): void;
}

export class Subscriber<T> implements AsyncIterableIterator<Delivery<T>> {
  private readonly queue: BoundedQueue<T>;
  /** Events replayed from before the subscription (resumed with a cursor), delivered first. */
  private backlog: readonly T[] = [];
  private backlogAt = 0;
  private waiting: ((result: IteratorResult<Delivery<T>>) => void) | undefined;
  private droppedSinceLast = 0;
  private closed = false;

  constructor(
    capacity: number,
    private readonly hooks: SubscriberHooks<T>,
    /** The user whose events this subscriber receives; undefined: everyone's (alerts only). */
    readonly userId: string | undefined,
  ) {
    this.queue = new BoundedQueue<T>(capacity);
  }

  get buffered(): number {
    return this.queue.size;
  }

  /**
   * Events to deliver before anything pushed from now on. Held as the array given (shared entries,
   * no copy), so a long replay costs no queue capacity and drops nothing; live events that arrive
   * meanwhile wait in the queue.
   */
  replay(events: readonly T[]): void {
    this.backlog = events;
    this.backlogAt = 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(event: T): void {
    if (this.closed) return;
    const resolve = this.waiting;
    if (resolve) {
      this.waiting = undefined;
      resolve({ done: false, value: this.take(event) });
      return;
    }
    if (this.queue.push(event) > 0) {
      this.droppedSinceLast += 1;
      this.hooks.onDrop(this);
    }
  }

  next(): Promise<IteratorResult<Delivery<T>>> {
    if (this.backlogAt < this.backlog.length) {
      const replayed = this.backlog[this.backlogAt]!;
      this.backlogAt += 1;
      if (this.backlogAt === this.backlog.length) this.backlog = [];
      return Promise.resolve({ done: false, value: { event: replayed, dropped: 0 } });
    }
    const event = this.queue.shift();
    if (event !== undefined) return Promise.resolve({ done: false, value: this.take(event) });
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** The client unsubscribed or disconnected (graphql-ws calls this through graphql-js). */
  return(): Promise<IteratorResult<Delivery<T>>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(err?: unknown): Promise<IteratorResult<Delivery<T>>> {
    this.close();
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }

  /** Ends the subscription from the server side (shutdown): the client receives `complete`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.clear();
    this.backlog = [];
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ done: true, value: undefined });
    this.hooks.onClose(this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private take(event: T): Delivery<T> {
    const dropped = this.droppedSinceLast;
    this.droppedSinceLast = 0;
    return { event, dropped };
  }
}
