/**
 * graphql-ws's protocol core (`makeServer`) on a `ws` server, in place of graphql-ws's own
 * `useServer` adapter, shaped for tens of thousands of mostly idle connections:
 *
 * - one keep-alive sweep for all sockets instead of an interval per socket (plus a timeout and a
 *   `pong` listener per ping): every socket is pinged once per interval, in slices spread over it,
 *   and a socket that has not answered its previous ping by its next turn is terminated;
 * - one timer for the `connection_init` deadline of all new sockets instead of one per socket (the
 *   core's own timer stays referenced for the connection's lifetime);
 * - the socket listeners are shared functions (the socket is `this`), not closures per connection;
 * - the upgrade request is not kept for the connection's lifetime, only its headers, and only until
 *   the `connection_init` hook drops them (`WsExtra.upgradeHeaders`);
 * - a message is handed to the core as a string, so the frame's buffer is not held while the core
 *   awaits a long-running subscription started by that message.
 *
 * Errors on the server or a socket close the affected sockets with 1011, like `useServer`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  CloseCode,
  DEPRECATED_GRAPHQL_WS_PROTOCOL,
  handleProtocols,
  makeServer,
  type ServerOptions,
  type WebSocket as ProtocolSocket,
} from 'graphql-ws';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';

/** What graphql-ws's hooks see as `ctx.extra`. */
export interface WsExtra {
  readonly socket: WebSocket;
  /**
   * The upgrade request's headers, for the `connection_init` check. The hook that has used them
   * sets this to undefined, so an open connection does not keep them.
   */
  upgradeHeaders: IncomingHttpHeaders | undefined;
}

export interface WsAdapterOptions {
  /** Ping interval in ms; a peer that has not answered a ping after as long is terminated. 0 disables. */
  keepAliveMs: number;
  /** Sends error details in close reasons (1011); otherwise "Internal server error". */
  development: boolean;
  logger: Logger;
}

export interface WsAdapter {
  /** Open sockets right now. */
  connections(): number;
  /**
   * Closes every socket with `code`, terminates the ones whose peer has not finished the closing
   * handshake after `graceMs`, and stops the server; the HTTP server keeps running.
   */
  close(code: number, reason: string, graceMs: number): Promise<void>;
}

/** Keep-alive slices: each interval pings one slice, so the pings (and pongs) spread over the interval. */
const KEEPALIVE_SLICES = 12;

/** How long a socket may stay open without sending `connection_init`, unless the options say (graphql-ws's default). */
const CONNECTION_INIT_WAIT_MS = 3000;

/** One graphql-ws connection on one socket: what the protocol core writes to and reads from. */
class Connection implements ProtocolSocket {
  /** The core's message handler (set through onMessage, right after `opened`). */
  handle: ((data: string) => Promise<void>) | undefined;
  /** The core's close handler, returned by `opened`. */
  closed: ((code: number, reason: string) => Promise<void>) | undefined;

  constructor(readonly socket: WebSocket) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> {
    const socket = this.socket;
    // A socket that is closing drops the message, as useServer does; the core is told nothing failed.
    if (socket.readyState !== socket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => socket.send(data, (err) => (err ? reject(err) : resolve())));
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  onMessage(cb: (data: string) => Promise<void>): void {
    this.handle = cb;
  }
}

/**
 * Pings each socket once per interval: slice by slice, one slice per tick. A socket still waiting
 * for the pong of the ping sent on its previous turn (one interval ago) is terminated.
 */
class KeepAlive {
  private readonly slices: Set<WebSocket>[] = Array.from({ length: KEEPALIVE_SLICES }, () => new Set());
  private readonly unanswered = new Set<WebSocket>();
  private turn = 0;
  private added = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.round(intervalMs / KEEPALIVE_SLICES)));
    this.timer.unref();
  }

  add(socket: WebSocket): void {
    this.slices[this.added++ % KEEPALIVE_SLICES]!.add(socket);
  }

  forget(socket: WebSocket): void {
    for (const slice of this.slices) if (slice.delete(socket)) break;
    this.unanswered.delete(socket);
  }

  answered(socket: WebSocket): void {
    this.unanswered.delete(socket);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const slice = this.slices[this.turn]!;
    this.turn = (this.turn + 1) % KEEPALIVE_SLICES;
    for (const socket of slice) {
      if (socket.readyState !== socket.OPEN) continue;
      if (this.unanswered.has(socket)) {
        // terminate() emits 'close' soon after, which forgets the socket.
        socket.terminate();
        continue;
      }
      this.unanswered.add(socket);
      socket.ping();
    }
  }
}

/**
 * Closes sockets that have not sent `connection_init` within the wait, with graphql-ws's 4408. Every
 * socket waits equally long, so deadlines fall in the order the sockets came: one timer, set for
 * the oldest deadline, serves them all.
 */
class InitDeadlines {
  private readonly due = new Map<WebSocket, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly waitMs: number) {}

  add(socket: WebSocket): void {
    this.due.set(socket, Date.now() + this.waitMs);
    this.timer ??= this.schedule(this.waitMs);
  }

  /** `connection_init` came, or the socket closed. */
  done(socket: WebSocket): void {
    this.due.delete(socket);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.due.clear();
  }

  private schedule(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.expire(), ms);
    timer.unref();
    return timer;
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const [socket, at] of this.due) {
      if (at > now) {
        this.timer = this.schedule(at - now);
        return;
      }
      this.due.delete(socket);
      socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    }
  }
}

/** Serves graphql-ws on `wss` (whose `handleProtocols` it sets); the server's hooks see `WsExtra`. */
export function serveGraphqlWs<P extends Record<string, unknown> | undefined>(
  options: ServerOptions<P, WsExtra>,
  wss: WebSocketServer,
  opts: WsAdapterOptions,
): WsAdapter {
  const log = opts.logger;
  const { onConnect, connectionInitWaitTimeout = CONNECTION_INIT_WAIT_MS } = options;
  const initDeadlines =
    connectionInitWaitTimeout > 0 && Number.isFinite(connectionInitWaitTimeout)
      ? new InitDeadlines(connectionInitWaitTimeout)
      : undefined;
  const server = makeServer<P, WsExtra>({
    ...options,
    // The deadline is InitDeadlines' (one timer for all sockets), not a timer per socket.
    connectionInitWaitTimeout: 0,
    onConnect: (ctx) => {
      initDeadlines?.done(ctx.extra.socket);
      return onConnect?.(ctx);
    },
  });
  const open = new Map<WebSocket, Connection>();
  const keepAlive =
    opts.keepAliveMs > 0 && Number.isFinite(opts.keepAliveMs) ? new KeepAlive(opts.keepAliveMs) : undefined;
  const reason = (err: unknown): string =>
    opts.development ? limitReason(err instanceof Error ? err.message : String(err)) : 'Internal server error';

  // The listeners below are shared by every socket: `this` is the socket that emitted.
  function onSocketMessage(this: WebSocket, data: RawData): void {
    const connection = open.get(this);
    if (!connection?.handle) return;
    // The core awaits a subscription to its end inside this call; only the string is held meanwhile.
    connection.handle(String(data)).catch((err: unknown) => {
      log.error({ err }, 'graphql-ws: error while handling a message');
      connection.close(CloseCode.InternalServerError, reason(err));
    });
  }

  function onSocketPong(this: WebSocket): void {
    keepAlive?.answered(this);
  }

  function onSocketError(this: WebSocket, err: Error): void {
    log.warn({ err }, 'graphql-ws: socket error');
    this.close(CloseCode.InternalServerError, reason(err));
  }

  function onSocketClose(this: WebSocket, code: number, why: Buffer): void {
    const connection = open.get(this);
    open.delete(this);
    initDeadlines?.done(this);
    keepAlive?.forget(this);
    if (
      opts.development &&
      code === CloseCode.SubprotocolNotAcceptable &&
      this.protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL
    )
      log.warn(
        'a client used the unsupported subscriptions-transport-ws protocol; graphql-ws clients speak graphql-transport-ws',
      );
    connection?.closed?.(code, String(why)).catch((err: unknown) => {
      log.error({ err }, 'graphql-ws: error while closing a connection');
    });
  }

  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (err) => {
    log.error({ err }, 'graphql-ws: WebSocket server error');
    for (const socket of open.keys()) socket.close(CloseCode.InternalServerError, reason(err));
  });
  wss.on('connection', (socket, request) => {
    const connection = new Connection(socket);
    open.set(socket, connection);
    initDeadlines?.add(socket);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.on('message', onSocketMessage);
    if (keepAlive) {
      socket.on('pong', onSocketPong);
      keepAlive.add(socket);
    }
    connection.closed = server.opened(connection, { socket, upgradeHeaders: request.headers });
  });

  return {
    connections: () => open.size,
    async close(code, why, graceMs) {
      keepAlive?.stop();
      initDeadlines?.stop();
      for (const socket of open.keys()) socket.close(code, why);
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && open.size > 0) await new Promise((r) => setTimeout(r, 10));
      for (const socket of open.keys()) socket.terminate();
      wss.removeAllListeners('connection');
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Close reasons are limited to 123 bytes by the protocol (the same check as graphql-ws's). */
function limitReason(text: string): string {
  return text.length < 124 ? text : 'Internal server error';
}
