/** `npm run migrate`: applies db/migrations to DATABASE_URL. */
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { migrate } from './migrations.js';
import { createPool } from './pool.js';

const config = loadConfig();
const logger = createLogger(config, 'migrate');
const pool = createPool(config.postgres, logger, { max: 1, applicationName: 'fitbit-migrate' });
try {
  const { flavour, applied } = await migrate(pool);
  logger.info({ flavour, applied }, applied.length ? 'migrations applied' : 'database already up to date');
} finally {
  await pool.end();
}
