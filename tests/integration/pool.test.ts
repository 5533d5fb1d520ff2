/** The pools the processes make: Postgres JIT is off for them (it cost 0.5-0.9 s inside single range queries). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createPool } from '../../src/timescale/pool.js';

describe('postgres pool', () => {
  it('runs its sessions with jit off', async () => {
    const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
    const pool = createPool(config.postgres, createLogger(config, 'pool-test'), { max: 1 });
    try {
      expect((await pool.query<{ jit: string }>('SHOW jit')).rows[0]?.jit).toBe('off');
    } finally {
      await pool.end();
    }
  });
});
