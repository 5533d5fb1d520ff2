/**
 * The gateway's view of the erasure ledger (table `erasures`, docs/privacy.md), for the replay log:
 * events of an erased user appended to Kafka before the erasure are held in memory (and read back
 * from the topics when a gateway starts), and must not be replayed to a resumed subscription.
 *
 * A copy refreshed every few seconds, so that a replay costs a map lookup rather than a query; an
 * erasure made through this gateway is noted at once, one made through another gateway shows here
 * at the next refresh. A failed refresh keeps the copy it had (an erasure is never forgotten) and
 * is retried at the next tick.
 */
import type { Logger } from '../logger.js';

export interface ErasureLedger {
  /** Whether `userId` was erased after a message appended at `appendedMs` (epoch ms). */
  erasedAfter(userId: string, appendedMs: number): boolean;
}

export interface ErasureLedgerCache extends ErasureLedger {
  /**
   * Loads the ledger (waiting at most `startWaitMs`; never throws: the next refresh retries), then
   * refreshes it every `refreshMs`.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** An erasure made here: effective at once. */
  note(userId: string, erasedAtMs: number): void;
}

export interface ErasureLedgerCacheOptions {
  /** The latest erasure time (epoch ms) of every erased user. */
  load: () => Promise<ReadonlyMap<string, number>>;
  /** Default 5 s. */
  refreshMs?: number;
  /**
   * How long start() waits for the first load. Default 2 s: a gateway must come up while Postgres
   * is down, and resumed subscriptions are the only readers of this copy.
   */
  startWaitMs?: number;
  logger: Logger;
}

export function createErasureLedgerCache(options: ErasureLedgerCacheOptions): ErasureLedgerCache {
  const refreshMs = options.refreshMs ?? 5_000;
  const log = options.logger.child({ component: 'erasure-ledger' });
  const latest = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  const note = (userId: string, erasedAtMs: number): void => {
    const known = latest.get(userId);
    if (known === undefined || erasedAtMs > known) latest.set(userId, erasedAtMs);
  };

  async function refresh(): Promise<void> {
    try {
      // Merged, never replaced: a row noted here and not yet visible to the load stays in force.
      for (const [userId, at] of await options.load()) note(userId, at);
      if (failing) log.info({ users: latest.size }, 'erasure ledger readable again');
      failing = false;
    } catch (err) {
      if (!failing) log.warn({ err: (err as Error).message }, 'erasure ledger not readable; keeping the last copy');
      failing = true;
    }
  }

  return {
    erasedAfter(userId, appendedMs) {
      const at = latest.get(userId);
      return at !== undefined && at > appendedMs;
    },
    note,
    async start() {
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([
        refresh(),
        new Promise<void>((resolve) => (waited = setTimeout(resolve, options.startWaitMs ?? 2_000))),
      ]);
      clearTimeout(waited);
      timer ??= setInterval(() => void refresh(), refreshMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
