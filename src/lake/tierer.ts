/**
 * The tierer: copies closed hours of the hot store into the lake through Trino (`INSERT ...
 * SELECT` across the `timescale` and `lake` catalogs), keeps the rollups, rewrites hours that
 * changed after they were tiered, and compacts complete days. docs/lake.md says why tiering and
 * not a Flink Iceberg sink.
 *
 * One cycle, under a Postgres advisory lock (one tierer at a time, however many workers run it):
 * 1. Advance: the next closed hours `[tieredUntil, next)`. The ledger's tiering range widens to
 *    `next` first, then a barrier waits out every writer that started before; the copy taken after
 *    it holds every reading of those hours, and a reading that arrives later marks its hour dirty
 *    (trigger in db/migrations/006_lake.sql). Only then does `tieredUntil` move, and readers follow.
 * 2. Rewrite dirty hours (late readings, erasures) that have been dirty longer than `settleMs`
 *    (the longest a query may run): a query that planned before the hour became dirty has ended
 *    before its lake copy is touched. The mark goes only if no write touched the hour meanwhile.
 * 3. Compact the days that the advance completed.
 * Every step is idempotent: a cycle cut short by a crash is repeated by the next one.
 */
import type { Logger } from '../logger.js';
import type { LakeStore } from '../timescale/lake.store.js';
import { HOUR_MS, type Interval } from '../trino/lake.plan.js';
import { compactStatements, createStatements, tierStatements, type LakeTables } from '../trino/lake.sql.js';
import type { TrinoRunner } from '../trino/trino.client.js';

export interface LakeTiererOptions {
  store: LakeStore;
  runner: TrinoRunner;
  tables: LakeTables;
  logger: Logger;
  intervalMs: number;
  /** An hour is tiered once it ended this long ago. */
  graceMs: number;
  /** Most hours per statement. */
  maxHours: number;
  /** How long an hour stays dirty before it is rewritten (at least the Trino query timeout). */
  settleMs: number;
  now?: () => Date;
  /** Observer of each finished cycle (metrics). */
  onCycle?: (cycle: TierCycle) => void;
}

export interface TierCycle {
  /** False when another tierer held the lock. */
  ran: boolean;
  advancedHours: number;
  rewrittenHours: number;
  compactedDays: number;
  tieredUntil: Date | null;
  elapsedMs: number;
}

export interface BackfillProgress {
  from: Date;
  until: Date;
  doneUntil: Date;
}

export type LakeTiererPhase =
  | { name: 'created' }
  | { name: 'running'; timer: NodeJS.Timeout | undefined; cycle: Promise<unknown> | undefined }
  | { name: 'stopped' };

export interface LakeTierer {
  readonly phase: LakeTiererPhase['name'];
  /** Creates the lake's tables if missing, then runs a cycle every `intervalMs`. */
  start(): Promise<void>;
  /** Stops scheduling and waits for a running cycle. */
  stop(): Promise<void>;
  runOnce(): Promise<TierCycle>;
  /** Moves `[from, lakeFrom)` of the hot store into the lake (from: the oldest reading by default). */
  backfill(from?: Date, onProgress?: (p: BackfillProgress) => void): Promise<BackfillProgress | undefined>;
}

const DAY_MS = 86_400_000;
const floorTo = (t: number, unit: number): number => Math.floor(t / unit) * unit;

/** Whole hours (their starts in epoch ms), joined where they touch. */
function hourIntervals(hours: readonly number[]): Interval[] {
  const out: [number, number][] = [];
  for (const s of [...hours].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && last[1] === s) last[1] = s + HOUR_MS;
    else out.push([s, s + HOUR_MS]);
  }
  return out;
}

export function createLakeTierer(options: LakeTiererOptions): LakeTierer {
  const { store, runner, tables, logger } = options;
  const now = options.now ?? (() => new Date());
  const log = logger.child({ component: 'lake-tierer' });
  let phase: LakeTiererPhase = { name: 'created' };
  let tablesReady = false;

  async function ensureTables(): Promise<void> {
    if (tablesReady) return;
    for (const sql of createStatements(tables)) await runner.run(sql);
    tablesReady = true;
  }

  async function copy(hours: readonly Interval[]): Promise<void> {
    for (const statement of tierStatements(tables, hours)) await runner.run(statement);
  }

  async function compactDays(fromMs: number, untilMs: number): Promise<number> {
    let days = 0;
    for (let day = floorTo(fromMs, DAY_MS); day + DAY_MS <= untilMs; day += DAY_MS) {
      for (const statement of compactStatements(tables, day)) await runner.run(statement);
      days += 1;
    }
    return days;
  }

  /** A fresh ledger starts empty at the last closed hour: history arrives through backfill. */
  async function ledgerReady(target: number) {
    const ledger = await store.ledger();
    if (ledger.tieringUntil !== null && ledger.tieredUntil !== null && ledger.lakeFrom !== null) return ledger;
    const start = new Date(target);
    await store.widen({ tieringFrom: start, tieringUntil: start });
    await store.settle({ lakeFrom: start, tieredUntil: start });
    return store.ledger();
  }

  async function cycle(): Promise<TierCycle> {
    const started = Date.now();
    const result = await store.exclusively(async () => {
      await ensureTables();
      const at = now().getTime();
      const target = floorTo(at - options.graceMs, HOUR_MS);
      const ledger = await ledgerReady(target);
      const tiered = ledger.tieredUntil!.getTime();
      const widened = ledger.tieringUntil!.getTime();

      // 1. Advance (also finishes an advance a crash interrupted: widened > tiered).
      let advancedHours = 0;
      const next = Math.max(widened, Math.min(target, tiered + options.maxHours * HOUR_MS));
      if (next > tiered) {
        if (next > widened) await store.widen({ tieringUntil: new Date(next) });
        await store.barrier();
        await copy([[tiered, next]]);
        await store.settle({ tieredUntil: new Date(next) });
        advancedHours = (next - tiered) / HOUR_MS;
      }

      // 2. Rewrite settled dirty hours.
      const dirty = await store.dirtyHours(options.settleMs, options.maxHours);
      if (dirty.length > 0) {
        await store.barrier();
        await copy(hourIntervals(dirty.map((h) => h.hour.getTime())));
        const cleared = await store.clearDirty(dirty);
        log.info({ hours: dirty.length, cleared }, 'rewrote dirty hours in the lake');
      }

      // 3. Compact the days this advance completed.
      const compactedDays = next > tiered ? await compactDays(floorTo(tiered, DAY_MS), floorTo(next, DAY_MS)) : 0;
      await store.settle({});
      return {
        advancedHours,
        rewrittenHours: dirty.length,
        compactedDays,
        tieredUntil: new Date(Math.max(next, tiered)),
      };
    });
    const outcome: TierCycle = result
      ? { ran: true, ...result, elapsedMs: Date.now() - started }
      : {
          ran: false,
          advancedHours: 0,
          rewrittenHours: 0,
          compactedDays: 0,
          tieredUntil: null,
          elapsedMs: Date.now() - started,
        };
    options.onCycle?.(outcome);
    return outcome;
  }

  function schedule(): void {
    if (phase.name !== 'running') return;
    const running = phase;
    running.timer = setTimeout(() => {
      running.timer = undefined;
      running.cycle = cycle()
        .catch((err: unknown) =>
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'tiering cycle failed; retrying'),
        )
        .finally(() => {
          running.cycle = undefined;
          schedule();
        });
    }, options.intervalMs);
    running.timer.unref();
  }

  return {
    get phase() {
      return phase.name;
    },
    async start() {
      if (phase.name === 'running') return;
      phase = { name: 'running', timer: undefined, cycle: undefined };
      schedule();
    },
    async stop() {
      if (phase.name !== 'running') return;
      const { timer, cycle: current } = phase;
      phase = { name: 'stopped' };
      if (timer) clearTimeout(timer);
      await current;
    },
    runOnce: cycle,
    async backfill(from, onProgress) {
      return store.exclusively(async () => {
        await ensureTables();
        const ledger = await ledgerReady(floorTo(now().getTime() - options.graceMs, HOUR_MS));
        const lakeFrom = ledger.lakeFrom!.getTime();
        const oldest = from ?? (await store.oldestReading());
        if (!oldest) return undefined;
        const start = floorTo(oldest.getTime(), HOUR_MS);
        if (start >= lakeFrom)
          return { from: new Date(start), until: new Date(lakeFrom), doneUntil: new Date(lakeFrom) };
        if (start < ledger.tieringFrom!.getTime()) await store.widen({ tieringFrom: new Date(start) });
        await store.barrier();
        // Only the hours that hold readings (history is often sparse), up to maxHours per copy.
        const hours = await store.hoursWithReadings(new Date(start), new Date(lakeFrom));
        for (let i = 0; i < hours.length; i += options.maxHours) {
          const chunk = hours.slice(i, i + options.maxHours);
          await copy(hourIntervals(chunk));
          onProgress?.({
            from: new Date(start),
            until: new Date(lakeFrom),
            doneUntil: new Date(chunk.at(-1)! + HOUR_MS),
          });
        }
        await store.settle({ lakeFrom: new Date(start) });
        const days = new Set(hours.map((h) => floorTo(h, DAY_MS)));
        for (const day of days) if (day + DAY_MS <= lakeFrom) await compactDays(day, day + DAY_MS);
        return { from: new Date(start), until: new Date(lakeFrom), doneUntil: new Date(lakeFrom) };
      });
    },
  };
}
