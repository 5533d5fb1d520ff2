/**
 * The Flink of the local stack answers: the SQL Gateway runs a bounded query on the session cluster
 * and returns its rows, and the JobManager has a TaskManager with free slots to run it on.
 * Needs `npm run stack:up` (or at least the flink service) beforehand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createJobManagerClient } from '../../src/flink/jobmanager.client.js';
import { createSqlGatewayClient, SqlGatewayError, type SqlGatewaySession } from '../../src/flink/sql-gateway.client.js';

const config = loadConfig();
const jobManager = createJobManagerClient({ url: config.flink.restUrl });
const sqlGateway = createSqlGatewayClient({ url: config.flink.sqlGatewayUrl });

describe('Flink SQL Gateway and JobManager', () => {
  let session: SqlGatewaySession;

  beforeAll(async () => {
    session = await sqlGateway.openSession();
  });

  afterAll(async () => {
    await session?.close();
  });

  it('reports a registered TaskManager with task slots', async () => {
    const overview = await jobManager.overview();
    expect(overview.taskManagers).toBeGreaterThanOrEqual(1);
    expect(overview.slotsTotal).toBeGreaterThanOrEqual(1);
    expect(overview.flinkVersion).toMatch(/^1\.20\./);
  });

  it('answers GET /v2/info with the Flink version', async () => {
    const info = await sqlGateway.info();
    expect(info.productName).toBe('Apache Flink');
    expect(info.version).toMatch(/^1\.20\./);
  });

  it('runs a VALUES query as a job on the cluster and returns its rows', async () => {
    const result = await session.execute(
      `SELECT n * 2 AS doubled, label FROM (VALUES (1, 'a'), (21, 'b')) AS t(n, label)`,
    );
    expect(result.columns).toEqual(['doubled', 'label']);
    expect(result.rows).toEqual([
      [2, 'a'],
      [42, 'b'],
    ]);
    // The query ran on the session cluster, not inside the gateway: the JobManager knows its job.
    expect(result.jobId).toMatch(/^[0-9a-f]{32}$/);
    const state = await jobManager.jobState(result.jobId as string);
    expect(['RUNNING', 'FINISHED']).toContain(state);
  }, 60_000);

  it('keeps session settings between statements', async () => {
    await session.execute(`SET 'table.local-time-zone' = 'UTC'`);
    const result = await session.execute(`SELECT DATE_FORMAT(TO_TIMESTAMP_LTZ(0, 3), 'yyyy-MM-dd HH:mm:ss') AS epoch`);
    expect(result.rows).toEqual([['1970-01-01 00:00:00']]);
  }, 60_000);

  it('rejects an invalid statement with the planner’s reason', async () => {
    const failure = await session.execute('SELECT * FROM no_such_table').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(SqlGatewayError);
    expect((failure as SqlGatewayError).code).toBe('SQL_STATEMENT_FAILED');
    expect((failure as SqlGatewayError).message).toMatch(/no_such_table/);
  }, 30_000);
});
