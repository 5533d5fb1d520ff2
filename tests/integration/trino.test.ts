/**
 * The local Trino answers through trino-client, and both catalogs of trino/catalog work: the
 * `timescale` catalog reads the project's Postgres database, the `kafka` catalog lists the topics.
 * Needs `npm run stack:up` (Trino, Postgres; Kafka for the last test's data, not for the listing).
 */
import pg from 'pg';
import { BasicAuth, Trino, type QueryResult } from 'trino-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { uniqueId } from '../helpers/wait.js';

const config = loadConfig();

function client(): Trino {
  return Trino.create({
    server: config.trino.server,
    catalog: config.trino.catalog,
    schema: config.trino.schema,
    auth: new BasicAuth('fitbit-tests'),
    source: 'fitbit-tests',
  });
}

/** All rows of a statement; a failed query (reported on a page, not thrown) fails the test. */
async function rows(trino: Trino, sql: string): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for await (const page of (await trino.query(sql)) as AsyncIterable<QueryResult>) {
    if (page.error) throw new Error(`${page.error.errorName}: ${page.error.message}`);
    out.push(...(page.data ?? []));
  }
  return out;
}

describe('local Trino', () => {
  const trino = client();
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 2 });
  // Trino folds unquoted names to lower case; a lower-case name works from both sides unquoted.
  const table = uniqueId('trino_probe').replace(/-/g, '_').toLowerCase();

  beforeAll(async () => {
    await pool.query(
      `CREATE TABLE ${table} (id integer PRIMARY KEY, label text NOT NULL, amount double precision NOT NULL)`,
    );
    await pool.query(`INSERT INTO ${table} VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, 'a', 4)`);
  });

  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  it('answers SELECT 1 through trino-client', async () => {
    expect(await rows(trino, 'SELECT 1')).toEqual([[1]]);
  });

  it('reads a Postgres table through the timescale catalog', async () => {
    const result = await rows(
      trino,
      `SELECT label, count(*), sum(amount) FROM timescale.public.${table} GROUP BY label ORDER BY label`,
    );
    expect(result).toEqual([
      ['a', 2, 5.5],
      ['b', 1, 2.5],
    ]);
  });

  it('sees the readings table of the migrations', async () => {
    const tables = (await rows(trino, 'SHOW TABLES FROM timescale.public')).map((r) => r[0]);
    expect(tables).toContain('readings');
  });

  it('lists the pipeline topics as tables of the kafka catalog', async () => {
    const tables = (await rows(trino, 'SHOW TABLES FROM kafka.default')).map((r) => r[0]);
    expect(tables).toEqual(expect.arrayContaining(['fitbit_ingestion', 'fitbit_processed', 'fitbit_alerts']));
    // The table descriptions in trino/kafka turn the JSON fields into columns.
    const columns = (await rows(trino, 'DESCRIBE kafka.default.fitbit_ingestion')).map((r) => r[0]);
    expect(columns).toEqual(
      expect.arrayContaining(['user_id', 'metric', 'time', 'value', '_key', '_partition_offset']),
    );
  });

  it('reports a failed query on the page instead of throwing', async () => {
    const pages: QueryResult[] = [];
    for await (const page of (await trino.query(
      'SELECT * FROM timescale.public.no_such_table_here',
    )) as AsyncIterable<QueryResult>) {
      pages.push(page);
    }
    const failed = pages.find((p) => p.error);
    expect(failed?.error?.errorName).toBe('TABLE_NOT_FOUND');
  });
});
