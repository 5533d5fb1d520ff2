/**
 * The processing job as an operator wants to see it: its state and its last completed checkpoint
 * (JobManager REST `GET /jobs/:id/checkpoints`). A job that checkpoints is a job whose Kafka
 * offsets move forward; one that stopped checkpointing replays from further back after a restart.
 */
import type { Config } from '../config.js';
import { jobStatus } from './deploy.js';

export interface FlinkCheckpoint {
  id: number;
  status: string;
  /** When the last task acknowledged it. */
  completedAt: Date | null;
  durationMs: number | null;
  sizeBytes: number | null;
}

export interface FlinkJobReport {
  name: string;
  /** Flink answered (whatever the job's state). */
  reachable: boolean;
  running: boolean;
  /** The job's state, null when no job of this name is alive. */
  state: string | null;
  jobId: string | null;
  checkpointsCompleted: number | null;
  checkpointsFailed: number | null;
  lastCheckpoint: FlinkCheckpoint | null;
  latencyMs: number;
  detail: string | null;
}

interface CheckpointsBody {
  counts?: { completed?: number; failed?: number };
  latest?: {
    completed?: {
      id: number;
      status: string;
      latest_ack_timestamp?: number;
      end_to_end_duration?: number;
      checkpointed_size?: number;
      state_size?: number;
    } | null;
  };
}

export async function flinkJobReport(config: Pick<Config, 'flink'>, signal: AbortSignal): Promise<FlinkJobReport> {
  const started = performance.now();
  const name = config.flink.jobName;
  const base: Omit<FlinkJobReport, 'latencyMs'> = {
    name,
    reachable: false,
    running: false,
    state: null,
    jobId: null,
    checkpointsCompleted: null,
    checkpointsFailed: null,
    lastCheckpoint: null,
    detail: null,
  };
  try {
    const job = await jobStatus(config, { signal });
    const report = {
      ...base,
      reachable: true,
      running: job.running,
      state: job.state ?? null,
      jobId: job.jobId ?? null,
    };
    if (!job.jobId) return { ...report, detail: `no live job named ${name}`, latencyMs: performance.now() - started };
    const res = await fetch(`${config.flink.restUrl}/jobs/${encodeURIComponent(job.jobId)}/checkpoints`, { signal });
    if (!res.ok)
      return { ...report, detail: `checkpoints answered HTTP ${res.status}`, latencyMs: performance.now() - started };
    const body = (await res.json()) as CheckpointsBody;
    const c = body.latest?.completed;
    return {
      ...report,
      checkpointsCompleted: body.counts?.completed ?? null,
      checkpointsFailed: body.counts?.failed ?? null,
      lastCheckpoint: c
        ? {
            id: c.id,
            status: c.status,
            completedAt: c.latest_ack_timestamp ? new Date(c.latest_ack_timestamp) : null,
            durationMs: c.end_to_end_duration ?? null,
            sizeBytes: c.checkpointed_size ?? c.state_size ?? null,
          }
        : null,
      latencyMs: performance.now() - started,
    };
  } catch (err) {
    return { ...base, detail: (err as Error).message || String(err), latencyMs: performance.now() - started };
  }
}
