/**
 * The lakehouse tier (docs/lake.md): what the gateway reads and what the worker process runs.
 * Built from the configuration's `lake` and `trino` slices and a Postgres pool.
 */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createLakeStore, type LakeStore } from '../timescale/lake.store.js';
import type { Pool } from '../timescale/pool.js';
import type { LakeView } from '../trino/lake.plan.js';
import { lakeTables, type LakeTables } from '../trino/lake.sql.js';
import { createTrinoRunner } from '../trino/trino.client.js';
import { createLakeTierer, type LakeTierer, type TierCycle } from './tierer.js';

export type { LakeTierer, TierCycle } from './tierer.js';

type LakeConfig = Pick<Config, 'lake' | 'trino'>;

export function lakeTablesOf(config: LakeConfig): LakeTables {
  return lakeTables({ catalog: config.trino.catalog, schema: config.trino.schema }, config.lake);
}

/** What TrinoService needs to federate the lake with the hot store. */
export function createLakeReader(
  config: LakeConfig,
  pool: Pool,
): { tables: LakeTables; view(from: Date, to: Date): Promise<LakeView> } {
  const store = createLakeStore(pool);
  return { tables: lakeTablesOf(config), view: (from, to) => store.view(from, to) };
}

/** Tiering statements run long (a backfill step copies a day of readings): their own timeout. */
const TIERING_TIMEOUT_MS = 30 * 60_000;

export function createTiererFor(
  config: LakeConfig,
  logger: Logger,
  pool: Pool,
  extra: { onCycle?: (cycle: TierCycle) => void; now?: () => Date; settleMs?: number } = {},
): { tierer: LakeTierer; store: LakeStore } {
  const store = createLakeStore(pool);
  const runner = createTrinoRunner({
    server: config.trino.server,
    user: config.trino.user,
    catalog: config.lake.catalog,
    schema: config.lake.schema,
    source: 'fitbit-lake-tierer',
    timeoutMs: TIERING_TIMEOUT_MS,
    logger,
  });
  const tierer = createLakeTierer({
    store,
    runner,
    tables: lakeTablesOf(config),
    logger,
    intervalMs: config.lake.tierIntervalMs,
    graceMs: config.lake.tierGraceMs,
    maxHours: config.lake.tierMaxHours,
    // A query that planned before an hour became dirty has ended (or timed out) by then.
    settleMs: extra.settleMs ?? config.trino.queryTimeoutMs + 5_000,
    ...(extra.now ? { now: extra.now } : {}),
    ...(extra.onCycle ? { onCycle: extra.onCycle } : {}),
  });
  return { tierer, store };
}
