/** Runs a `{start, stop}` process: starts it, and on SIGTERM/SIGINT stops it once and exits. */
import type { Logger } from '../logger.js';

export interface Lifecycle {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

export async function runProcess(proc: Lifecycle, logger: Logger): Promise<void> {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    proc.stop().then(
      () => process.exit(0),
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
}
