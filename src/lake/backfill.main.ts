/**
 * `npm run lake:backfill [-- --from 2026-01-01T00:00:00Z]`: moves the hot store's readings older
 * than the lake's range into the lake (by default from the oldest reading), a day per statement,
 * then lets readers use them. Safe to interrupt and run again; safe beside running workers (the
 * tierer waits while a backfill holds the lake's lock).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { migrate } from '../timescale/migrations.js';
import { createPool } from '../timescale/pool.js';
import { createTiererFor } from './index.js';

const { values } = parseArgs({ options: { from: { type: 'string' } } });
const from = values.from === undefined ? undefined : new Date(values.from);
if (from && !Number.isFinite(from.getTime())) {
  console.error(`--from: expected an ISO date-time such as 2026-01-01T00:00:00Z, got ${values.from}`);
  process.exit(2);
}

const config = loadConfig();
const logger = createLogger(config, 'lake-backfill');
const pool = createPool(config.postgres, logger, { max: 3, applicationName: 'fitbit-lake-backfill' });
try {
  await migrate(pool);
  const { tierer } = createTiererFor(config, logger, pool);
  const started = Date.now();
  const done = await tierer.backfill(from, (p) =>
    logger.info(
      { from: p.from, until: p.until, doneUntil: p.doneUntil, elapsedS: Math.round((Date.now() - started) / 1000) },
      'backfill progress',
    ),
  );
  if (done === undefined)
    logger.info('nothing to backfill (no readings, or another tierer holds the lake lock; try again)');
  else
    logger.info(
      { from: done.from, until: done.until, elapsedS: Math.round((Date.now() - started) / 1000) },
      'backfill done',
    );
} finally {
  await pool.end();
}
