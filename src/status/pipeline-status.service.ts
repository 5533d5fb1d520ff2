/**
 * `pipelineStatus`: one look at the whole pipeline for an operator. Per topic the partitions and
 * end offsets; per consumer group (the Timescale writer, the Flink job's source) the lag of each
 * partition; the Flink job's state and last checkpoint; Kafka's, Postgres's and Trino's health,
 * each with the latency of the question asked. Parts are asked in parallel, each bounded by a
 * timeout, and a part that fails is reported as such: the status itself never fails.
 *
 * Admin only: the resolver calls `status()` and nothing else, so the access check belongs in front
 * of this one method.
 */
import type { Admin } from '../kafka/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { HealthService, ServiceHealthResult } from '../health/health.service.js';
import { flinkJobReport, type FlinkJobReport } from '../flink/job-report.js';
import { groupLag, topicOffsets, type GroupLag, type PartitionOffsets } from '../kafka/offsets.js';

export interface TopicReport {
  name: string;
  ok: boolean;
  partitions: PartitionOffsets[];
  /** Messages retained: the sum over partitions of end minus start offset. */
  retained: number;
  detail: string | null;
}

export interface GroupReport extends GroupLag {
  ok: boolean;
  /** What reads with this group: 'timescale-writer' or 'flink-job'. */
  role: string;
  detail: string | null;
}

export interface LakeReport {
  enabled: boolean;
  ok: boolean;
  lakeFrom: Date | null;
  tieredUntil: Date | null;
  lagSeconds: number | null;
  dirtyHours: number;
  lastCycleAt: Date | null;
  detail: string | null;
}

export interface PipelineStatus {
  checkedAt: Date;
  topics: TopicReport[];
  consumerGroups: GroupReport[];
  flink: FlinkJobReport;
  services: ServiceHealthResult[];
  lake: LakeReport;
}

export interface PipelineStatusService {
  status(): Promise<PipelineStatus>;
  stop(): Promise<void>;
}

export interface PipelineStatusOptions {
  config: Pick<Config, 'kafka' | 'flink'>;
  logger: Logger;
  /** Admin client use, shared with whatever else keeps one (see sharedAdmin). */
  admin: { use<T>(fn: (admin: Admin) => Promise<T>): Promise<T>; close(): Promise<void> };
  /** Postgres and Trino checks; Kafka's is measured here from the offset queries. */
  health: HealthService;
  /** Per part. Default 5 000 ms. */
  timeoutMs?: number;
  /** The tiering ledger (src/timescale/lake.store.ts); absent when the lake is off. */
  lake?: {
    ledger(): Promise<{ lakeFrom: Date | null; tieredUntil: Date | null; tieredAt: Date | null }>;
    dirtyCount(): Promise<number>;
  };
}

/** `p`, or a failure naming `what` once `ms` passed (the platform's timer: unref'd, nothing to clear). */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const signal = AbortSignal.timeout(ms);
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(new Error(`${what}: no answer within ${ms} ms`)), { once: true }),
    ),
  ]);
}

const message = (err: unknown): string => (err instanceof Error ? err.message || err.name : String(err));

export function createPipelineStatusService(options: PipelineStatusOptions): PipelineStatusService {
  const { config, admin, health } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const log = options.logger.child({ component: 'pipeline-status' });
  const { ingestion, dlq, processed, alerts } = config.kafka.topics;
  const groups = [
    { groupId: config.kafka.consumerGroup, topic: ingestion, role: 'timescale-writer' },
    { groupId: `flink-${config.flink.jobName}`, topic: ingestion, role: 'flink-job' },
  ];

  async function topicReport(name: string): Promise<TopicReport> {
    try {
      const partitions = await bounded(
        admin.use((a) => topicOffsets(a, name)),
        timeoutMs,
        `offsets of ${name}`,
      );
      return {
        name,
        ok: true,
        partitions,
        retained: partitions.reduce((s, p) => s + p.endOffset - p.startOffset, 0),
        detail: null,
      };
    } catch (err) {
      return { name, ok: false, partitions: [], retained: 0, detail: message(err) };
    }
  }

  async function groupReport(g: (typeof groups)[number], ends: PartitionOffsets[] | undefined): Promise<GroupReport> {
    try {
      const lag = await bounded(
        admin.use((a) => groupLag(a, g.groupId, g.topic, ends)),
        timeoutMs,
        `lag of ${g.groupId}`,
      );
      return { ...lag, ok: true, role: g.role, detail: null };
    } catch (err) {
      return {
        groupId: g.groupId,
        topic: g.topic,
        state: 'Unknown',
        members: 0,
        totalLag: 0,
        partitions: [],
        ok: false,
        role: g.role,
        detail: message(err),
      };
    }
  }

  const noLake: LakeReport = {
    enabled: false,
    ok: true,
    lakeFrom: null,
    tieredUntil: null,
    lagSeconds: null,
    dirtyHours: 0,
    lastCycleAt: null,
    detail: 'LAKE_ENABLED=false',
  };

  async function lakeReport(at: Date): Promise<LakeReport> {
    const lake = options.lake;
    if (!lake) return noLake;
    try {
      const [ledger, dirtyHours] = await bounded(
        Promise.all([lake.ledger(), lake.dirtyCount()]),
        timeoutMs,
        'lake ledger',
      );
      const lagSeconds = ledger.tieredUntil ? (at.getTime() - ledger.tieredUntil.getTime()) / 1000 : null;
      return {
        enabled: true,
        ok: ledger.tieredUntil !== null,
        lakeFrom: ledger.lakeFrom,
        tieredUntil: ledger.tieredUntil,
        lagSeconds,
        dirtyHours,
        lastCycleAt: ledger.tieredAt,
        detail: ledger.tieredUntil === null ? 'the tierer has not run yet (it runs in the worker process)' : null,
      };
    } catch (err) {
      return { ...noLake, enabled: true, ok: false, detail: message(err) };
    }
  }

  return {
    async status() {
      const checkedAt = new Date();
      const kafkaStarted = performance.now();
      const topicsP = Promise.all([ingestion, dlq, processed, alerts].map(topicReport));
      const kafkaP = topicsP.then(async (topics) => {
        const kafkaMs = performance.now() - kafkaStarted;
        const ends = topics[0]?.ok ? topics[0].partitions : undefined;
        const consumerGroups = await Promise.all(groups.map((g) => groupReport(g, ends)));
        return { topics, consumerGroups, kafkaMs };
      });
      const [{ topics, consumerGroups, kafkaMs }, flink, services, lake] = await Promise.all([
        kafkaP,
        flinkJobReport(config, AbortSignal.timeout(timeoutMs)),
        health.check(),
        lakeReport(checkedAt),
      ]);
      const failed = topics.filter((t) => !t.ok);
      const kafka: ServiceHealthResult = {
        name: 'kafka',
        ok: failed.length === 0,
        latencyMs: kafkaMs,
        detail:
          failed.length === 0 ? `${topics.length} topics` : failed.map((t) => `${t.name}: ${t.detail}`).join('; '),
      };
      if (failed.length > 0) log.warn({ failed: failed.map((t) => t.name) }, 'pipeline status: topics not readable');
      return { checkedAt, topics, consumerGroups, flink, services: [kafka, ...services], lake };
    },
    stop: () => admin.close(),
  };
}
