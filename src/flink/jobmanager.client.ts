/**
 * The parts of the Flink JobManager REST API (port 8081) that deployment and health checks use:
 * cluster overview, the job list, one job's state, cancelling and stopping with a savepoint.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export type JobState =
  | 'INITIALIZING'
  | 'CREATED'
  | 'RUNNING'
  | 'FAILING'
  | 'FAILED'
  | 'CANCELLING'
  | 'CANCELED'
  | 'FINISHED'
  | 'RESTARTING'
  | 'SUSPENDED'
  | 'RECONCILING';

/** States a job never leaves; a job in any other state still occupies the cluster (or will again). */
export const TERMINAL_JOB_STATES: ReadonlySet<JobState> = new Set<JobState>(['FAILED', 'CANCELED', 'FINISHED']);

export interface JobSummary {
  id: string;
  name: string;
  state: JobState;
  startTime: number;
}

export interface ClusterOverview {
  taskManagers: number;
  slotsTotal: number;
  slotsAvailable: number;
  jobsRunning: number;
  flinkVersion: string;
}

export class JobManagerError extends Error {
  constructor(
    readonly code: 'FLINK_UNREACHABLE' | 'FLINK_HTTP_ERROR',
    message: string,
  ) {
    super(message);
    this.name = 'JobManagerError';
  }
}

export interface JobManagerClient {
  overview(): Promise<ClusterOverview>;
  /** `signal` lets a caller with its own deadline (a health check) abandon the request early. */
  listJobs(signal?: AbortSignal): Promise<JobSummary[]>;
  /** The job's state, or undefined when the JobManager does not know the id. */
  jobState(id: string): Promise<JobState | undefined>;
  /** Asks the JobManager to cancel; resolves when the request is accepted, not when the job is gone. */
  cancel(id: string): Promise<void>;
  /**
   * Takes a savepoint and stops the job without draining open windows; resolves with the savepoint's
   * location once it is complete. Without `targetDirectory` the cluster's default savepoint directory is used.
   */
  stopWithSavepoint(id: string, options?: { targetDirectory?: string; timeoutMs?: number }): Promise<string>;
}

export interface JobManagerClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8081`. */
  url: string;
  /** Per request. Default 5 000 ms. */
  requestTimeoutMs?: number;
}

export function createJobManagerClient(options: JobManagerClientOptions): JobManagerClient {
  const base = options.url.replace(/\/$/, '');
  const timeoutMs = options.requestTimeoutMs ?? 5_000;

  type Method = 'GET' | 'PATCH' | 'POST';

  async function call(
    method: Method,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<{ status: number; json: unknown }> {
    let res: Response;
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      });
    } catch (err) {
      const reason =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new JobManagerError(
        'FLINK_UNREACHABLE',
        `Flink JobManager at ${base} did not answer ${method} ${path}: ${reason}`,
      );
    }
    const text = await res.text();
    let json: unknown = {};
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = { errors: [text] };
    }
    return { status: res.status, json };
  }

  async function ok(method: Method, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const { status, json } = await call(method, path, body, signal);
    if (status >= 400) {
      const errors = (json as { errors?: unknown }).errors;
      throw new JobManagerError(
        'FLINK_HTTP_ERROR',
        `${method} ${path} answered ${status}: ${JSON.stringify(errors).slice(0, 300)}`,
      );
    }
    return json;
  }

  return {
    async overview() {
      const o = (await ok('GET', '/overview')) as Record<string, unknown>;
      return {
        taskManagers: Number(o['taskmanagers'] ?? 0),
        slotsTotal: Number(o['slots-total'] ?? 0),
        slotsAvailable: Number(o['slots-available'] ?? 0),
        jobsRunning: Number(o['jobs-running'] ?? 0),
        flinkVersion: String(o['flink-version'] ?? ''),
      };
    },
    async listJobs(signal) {
      const body = (await ok('GET', '/jobs/overview', undefined, signal)) as {
        jobs?: { jid: string; name: string; state: JobState; 'start-time': number }[];
      };
      return (body.jobs ?? []).map((j) => ({ id: j.jid, name: j.name, state: j.state, startTime: j['start-time'] }));
    },
    async jobState(id) {
      const { status, json } = await call('GET', `/jobs/${encodeURIComponent(id)}`);
      if (status === 404) return undefined;
      if (status >= 400) throw new JobManagerError('FLINK_HTTP_ERROR', `GET /jobs/${id} answered ${status}`);
      return (json as { state: JobState }).state;
    },
    async cancel(id) {
      await ok('PATCH', `/jobs/${encodeURIComponent(id)}?mode=cancel`);
    },
    async stopWithSavepoint(id, { targetDirectory, timeoutMs: waitMs = 120_000 } = {}) {
      const job = `/jobs/${encodeURIComponent(id)}`;
      const body = targetDirectory === undefined ? { drain: false } : { drain: false, targetDirectory };
      const { 'request-id': trigger } = (await ok('POST', `${job}/stop`, body)) as { 'request-id': string };
      const deadline = Date.now() + waitMs;
      for (;;) {
        const r = (await ok('GET', `${job}/savepoints/${encodeURIComponent(trigger)}`)) as {
          status: { id: 'IN_PROGRESS' | 'COMPLETED' };
          operation?: { location?: string; 'failure-cause'?: { 'stack-trace'?: string; class?: string } };
        };
        if (r.status.id === 'COMPLETED') {
          if (r.operation?.location) return r.operation.location;
          const cause = r.operation?.['failure-cause'];
          const firstLine = (cause?.['stack-trace'] ?? cause?.class ?? 'unknown cause').split('\n')[0];
          throw new JobManagerError('FLINK_HTTP_ERROR', `stop-with-savepoint of ${id} failed: ${firstLine}`);
        }
        if (Date.now() > deadline)
          throw new JobManagerError(
            'FLINK_HTTP_ERROR',
            `stop-with-savepoint of ${id} still running after ${waitMs} ms`,
          );
        await sleep(250);
      }
    },
  };
}
