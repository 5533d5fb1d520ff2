/**
 * `pipelineStatus` against the real pipeline: the writer group's lag grows by exactly the readings
 * ingested while no worker runs, and returns to zero once a worker of the same group has run.
 */
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createConsumerProcess, type ConsumerProcess } from '../../src/consumer/process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { createTopics, reading, workerConfig, type Topics } from './consumer-fixtures.js';

const STATUS = `query PipelineStatusTest {
  pipelineStatus {
    checkedAt
    topics { name ok retained partitions { partition startOffset endOffset } }
    consumerGroups { groupId role ok state members totalLag partitions { partition endOffset committedOffset lag } detail }
    flink { name reachable running state jobId lastCheckpoint { id completedAt } latencyMs detail }
    services { name ok latencyMs detail }
    lake { enabled ok lakeFrom tieredUntil lagSeconds dirtyHours lastCycleAt detail }
  }
}`;
const INGEST = `mutation PipelineIngest($readings: [ReadingInput!]!) { ingestReadings(readings: $readings) { accepted } }`;

interface Group {
  groupId: string;
  role: string;
  ok: boolean;
  state: string;
  members: number;
  totalLag: number;
  partitions: { partition: number; endOffset: number; committedOffset: number | null; lag: number }[];
}
interface Status {
  topics: { name: string; ok: boolean; retained: number; partitions: { endOffset: number }[] }[];
  consumerGroups: Group[];
  flink: { reachable: boolean; running: boolean; state: string | null; latencyMs: number };
  services: { name: string; ok: boolean; latencyMs: number | null }[];
  lake: { enabled: boolean; ok: boolean; tieredUntil: string | null; lagSeconds: number | null; dirtyHours: number };
}

describe('pipelineStatus', () => {
  const kafka = testKafka();
  const group = uniqueId('status-writer');
  let topics: Topics;
  let gw: TestGateway;
  const workers: ConsumerProcess[] = [];

  const status = async (): Promise<Status> => {
    const res = await gw.gql<{ pipelineStatus: Status }>(STATUS);
    expect(res.errors).toBeUndefined();
    return res.data!.pipelineStatus;
  };
  const writer = (s: Status): Group => s.consumerGroups.find((g) => g.role === 'timescale-writer')!;
  const startWorker = async (): Promise<ConsumerProcess> => {
    const w = createConsumerProcess({
      config: workerConfig(topics, group, { CONSUMER_METRICS_PORT: '0' }),
      logger: createLogger({ logLevel: 'warn' }, 'consumer-test'),
      print: () => undefined,
    });
    workers.push(w);
    await w.start();
    return w;
  };
  const ingest = async (users: string[], perUser: number, offset: number): Promise<void> => {
    const readings = users.flatMap((u) =>
      Array.from({ length: perUser }, (_, i) => {
        const r = reading(u, offset + i);
        return { userId: r.userId, metric: 'HEART_RATE', time: r.time, value: r.value };
      }),
    );
    const res = await gw.gql<{ ingestReadings: { accepted: number } }>(INGEST, { readings });
    expect(res.data?.ingestReadings.accepted).toBe(readings.length);
  };

  beforeAll(async () => {
    topics = await createTopics(kafka);
    gw = await startGateway({
      KAFKA_TOPIC: topics.topic,
      KAFKA_DLQ_TOPIC: topics.dlqTopic,
      KAFKA_CONSUMER_GROUP: group,
    });
  });

  afterAll(async () => {
    for (const w of workers) await w.stop();
    await gw?.stop();
    await topics?.remove();
  });

  it('reports topics, Flink and service health, each with a latency', async () => {
    const s = await status();
    expect(s.topics.map((t) => t.name)).toEqual([topics.topic, topics.dlqTopic, 'fitbit_processed', 'fitbit_alerts']);
    expect(s.topics[0]!.ok).toBe(true);
    expect(s.topics[0]!.partitions).toHaveLength(6);
    const byName = Object.fromEntries(s.services.map((x) => [x.name, x]));
    for (const name of ['kafka', 'postgres', 'trino']) {
      expect(byName[name]?.ok, `${name} healthy`).toBe(true);
      expect(byName[name]!.latencyMs).toBeGreaterThan(0);
    }
    expect(s.flink.reachable).toBe(true);
    expect(s.flink.latencyMs).toBeGreaterThan(0);
    expect(s.consumerGroups.map((g) => g.role)).toEqual(['timescale-writer', 'flink-job']);
    // The lake's figures are the ledger's, whatever the tierer has done so far.
    const pool = new pg.Pool({ connectionString: loadConfig().postgres.url, max: 1 });
    try {
      const { rows } = await pool.query(
        'SELECT tiered_until, (SELECT count(*)::int FROM lake_dirty_hours) AS dirty FROM lake_state WHERE id',
      );
      expect(s.lake.enabled).toBe(true);
      expect(s.lake.tieredUntil === null ? null : new Date(s.lake.tieredUntil).getTime()).toBe(
        rows[0]?.tiered_until ? new Date(rows[0].tiered_until).getTime() : null,
      );
      expect(s.lake.ok).toBe(rows[0]?.tiered_until != null);
      expect(s.lake.dirtyHours).toBe(rows[0]?.dirty ?? 0);
      if (s.lake.tieredUntil) expect(s.lake.lagSeconds).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
  });

  it('shows lag growing while the worker is stopped and back to zero after it runs', async () => {
    const users = Array.from({ length: 8 }, () => uniqueId('status-user'));
    // A worker joins, finds nothing, and leaves: the group exists with no committed offsets.
    const first = await startWorker();
    await waitFor(
      async () => {
        const w = writer(await status());
        return w.state === 'Stable' && w.members === 1;
      },
      { timeoutMs: 30_000, what: 'the writer group to be Stable with one member' },
    );
    await first.stop();

    await ingest(users, 3, 0);
    let w = writer(await status());
    expect(w.members).toBe(0);
    expect(w.totalLag).toBe(24);
    expect(w.partitions.reduce((n, p) => n + p.lag, 0)).toBe(24);

    await ingest(users, 2, 10);
    w = writer(await status());
    expect(w.totalLag).toBe(40);
    const s = await status();
    expect(s.topics[0]!.retained).toBe(40);

    await startWorker();
    w = await waitFor(
      async () => {
        const g = writer(await status());
        return g.totalLag === 0 && g.members === 1 ? g : undefined;
      },
      { timeoutMs: 40_000, what: 'the writer group lag to return to zero' },
    );
    for (const p of w.partitions) {
      expect(p.lag).toBe(0);
      if (p.endOffset > 0) expect(p.committedOffset).toBe(p.endOffset);
    }
  });
});
