/**
 * Runs a `{start, stop}` process: starts it, and on SIGTERM/SIGINT stops it once and exits.
 *
 * `stop()` is the graceful part (each factory's own order: stop taking work, drain, flush, commit,
 * close). Two things bound it: a second signal exits at once, and a stop that outlasts
 * `shutdownTimeoutMs` exits non-zero, so an orchestrator's kill deadline never finds the process
 * half stopped without a log line saying so.
 *
 * Once started, the process installs the fault scope (fault-scope.ts): an exception from a
 * request, socket or timer callback is logged and counted, and the process keeps serving.
 */
import type { Logger } from '../logger.js';
import { installFaultScope } from './fault-scope.js';

export interface Lifecycle {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

export interface RunOptions {
  /** Default 25 000 ms: inside Kubernetes' default 30 s grace period. */
  shutdownTimeoutMs?: number;
}

export async function runProcess(proc: Lifecycle, logger: Logger, options: RunOptions = {}): Promise<void> {
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 25_000;
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    stopping = true;
    const started = Date.now();
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ shutdownTimeoutMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, shutdownTimeoutMs);
    deadline.unref();
    proc.stop().then(
      () => {
        logger.info({ ms: Date.now() - started }, 'stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  try {
    await proc.start();
  } catch (err) {
    logger.fatal({ err }, 'start failed');
    await proc.stop().catch(() => undefined);
    process.exit(1);
  }
  // Serving from here on: an error thrown by one request's callback is logged and survived.
  installFaultScope(logger);
}
