/**
 * Deploys the processing job through the SQL Gateway and inspects it through the JobManager.
 * A job is identified by its name (`pipeline.name`): deploying is idempotent because a job of that
 * name that is still alive is left alone, unless the caller asks to replace it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { renderJobStatements, type JobSettings } from './job-sql.js';
import {
  createJobManagerClient,
  TERMINAL_JOB_STATES,
  type JobManagerClient,
  type JobState,
  type JobSummary,
} from './jobmanager.client.js';
import { createSqlGatewayClient, type SqlGatewayClient } from './sql-gateway.client.js';

export interface FlinkClients {
  jobManager: JobManagerClient;
  sqlGateway: SqlGatewayClient;
}

export function flinkClients(config: Pick<Config, 'flink'>): FlinkClients {
  return {
    jobManager: createJobManagerClient({ url: config.flink.restUrl }),
    sqlGateway: createSqlGatewayClient({ url: config.flink.sqlGatewayUrl }),
  };
}

export interface DeployOptions {
  /** Replace every live job of the same name instead of leaving it alone. Default false. */
  replace?: boolean;
  /**
   * When replacing a single RUNNING job, stop it with a savepoint and start the new one from it, so
   * open windows keep their readings. Default true; false (or a failed savepoint) cancels instead and
   * the new job starts from the offsets the consumer group committed at the last checkpoint.
   */
  keepState?: boolean;
  /** SQL file under the repository root. Default the processing job. */
  file?: string;
  /** How long to wait for the submitted job to reach RUNNING. Default 60 000 ms. */
  runningTimeoutMs?: number;
  log?: (message: string) => void;
}

export type DeployResult =
  | { action: 'unchanged'; jobId: string; state: JobState }
  | {
      action: 'submitted' | 'replaced';
      jobId: string;
      state: JobState;
      /** The jobs this deploy stopped or cancelled. */
      replacedJobs: string[];
      /** The savepoint the new job started from, if any. */
      restoredFrom: string | undefined;
    };

export class DeployError extends Error {
  constructor(
    readonly code: 'FLINK_JOB_NOT_SUBMITTED' | 'FLINK_JOB_NOT_RUNNING' | 'FLINK_CANCEL_TIMEOUT',
    message: string,
  ) {
    super(message);
    this.name = 'DeployError';
  }
}

/** Jobs of this name that are not finished, failed or cancelled, newest first. */
export async function liveJobs(
  jobManager: JobManagerClient,
  jobName: string,
  signal?: AbortSignal,
): Promise<JobSummary[]> {
  const jobs = await jobManager.listJobs(signal);
  return jobs
    .filter((j) => j.name === jobName && !TERMINAL_JOB_STATES.has(j.state))
    .sort((a, b) => b.startTime - a.startTime);
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await sleep(250);
  }
}

async function waitTerminal(jobManager: JobManagerClient, ids: string[], timeoutMs: number): Promise<void> {
  try {
    await waitFor('terminal', timeoutMs, async () => {
      const states = await Promise.all(ids.map((id) => jobManager.jobState(id)));
      return states.every((s) => s === undefined || TERMINAL_JOB_STATES.has(s)) ? true : undefined;
    });
  } catch {
    throw new DeployError('FLINK_CANCEL_TIMEOUT', `jobs ${ids.join(', ')} did not end within ${timeoutMs} ms`);
  }
}

/** Cancels the given jobs and waits until each has reached a terminal state. */
export async function cancelJobs(jobManager: JobManagerClient, ids: string[], timeoutMs = 60_000): Promise<void> {
  for (const id of ids) await jobManager.cancel(id);
  await waitTerminal(jobManager, ids, timeoutMs);
}

/**
 * Ends the jobs being replaced. Returns the savepoint to resume from when there was exactly one
 * RUNNING job and it stopped with one; otherwise everything is cancelled.
 */
async function retire(
  jobManager: JobManagerClient,
  jobs: JobSummary[],
  keepState: boolean,
  log: (m: string) => void,
): Promise<string | undefined> {
  const [only] = jobs;
  if (keepState && jobs.length === 1 && only !== undefined && only.state === 'RUNNING') {
    log(`stopping ${only.id} with a savepoint`);
    try {
      const savepoint = await jobManager.stopWithSavepoint(only.id);
      await waitTerminal(jobManager, [only.id], 60_000);
      return savepoint;
    } catch (err) {
      log(`no savepoint (${err instanceof Error ? err.message : String(err)}); cancelling instead`);
    }
  }
  const ids = jobs.map((j) => j.id);
  log(`cancelling ${ids.join(', ')}`);
  await cancelJobs(jobManager, ids);
  return undefined;
}

async function submit(
  sqlGateway: SqlGatewayClient,
  statements: string[],
  savepoint: string | undefined,
): Promise<string | undefined> {
  const session = await sqlGateway.openSession();
  let jobId: string | undefined;
  try {
    if (savepoint !== undefined) {
      await session.execute(`SET 'execution.savepoint.path' = '${savepoint.replace(/'/g, "''")}'`);
      // State of operators the new plan no longer has (a changed query) is dropped instead of failing the restore.
      await session.execute(`SET 'execution.savepoint.ignore-unclaimed-state' = 'true'`);
    }
    for (const statement of statements) {
      const result = await session.execute(statement);
      if (result.jobId !== undefined) jobId = result.jobId;
    }
  } finally {
    await session.close();
  }
  return jobId;
}

async function waitRunning(jobManager: JobManagerClient, jobId: string, timeoutMs: number): Promise<void> {
  let last: JobState | undefined;
  try {
    await waitFor('running', timeoutMs, async () => {
      last = await jobManager.jobState(jobId);
      if (last !== undefined && TERMINAL_JOB_STATES.has(last)) throw new Error(`ended as ${last}`);
      return last === 'RUNNING' ? last : undefined;
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DeployError(
      'FLINK_JOB_NOT_RUNNING',
      `job ${jobId} did not reach RUNNING (${reason}; last state ${last ?? 'unknown'})`,
    );
  }
}

export async function deployJob(
  clients: FlinkClients,
  settings: JobSettings,
  options: DeployOptions = {},
): Promise<DeployResult> {
  const log = options.log ?? (() => undefined);
  const { jobManager, sqlGateway } = clients;
  const timeoutMs = options.runningTimeoutMs ?? 60_000;
  const existing = await liveJobs(jobManager, settings.jobName);
  const [newest] = existing;
  if (newest !== undefined && !options.replace) {
    return { action: 'unchanged', jobId: newest.id, state: newest.state };
  }
  // Rendering first: a bad setting fails here, before anything on the cluster has changed.
  const statements = renderJobStatements(settings, options.file);
  const savepoint =
    existing.length > 0 ? await retire(jobManager, existing, options.keepState ?? true, log) : undefined;
  const replacedJobs = existing.map((j) => j.id);
  const action = replacedJobs.length > 0 ? 'replaced' : 'submitted';

  const jobId = await submit(sqlGateway, statements, savepoint);
  if (jobId === undefined) {
    throw new DeployError('FLINK_JOB_NOT_SUBMITTED', `${options.file ?? 'the job file'} ran without submitting a job`);
  }
  log(`submitted job "${settings.jobName}" as ${jobId}${savepoint ? ` from ${savepoint}` : ''}`);
  try {
    await waitRunning(jobManager, jobId, timeoutMs);
    return { action, jobId, state: 'RUNNING', replacedJobs, restoredFrom: savepoint };
  } catch (err) {
    if (savepoint === undefined) throw err;
    // A savepoint the new plan cannot read ends the job during restore; the committed offsets still hold.
    log(`${err instanceof Error ? err.message : String(err)}; submitting again without the savepoint`);
  }
  const fresh = await submit(sqlGateway, statements, undefined);
  if (fresh === undefined)
    throw new DeployError('FLINK_JOB_NOT_SUBMITTED', 'the job file ran without submitting a job');
  await waitRunning(jobManager, fresh, timeoutMs);
  return { action, jobId: fresh, state: 'RUNNING', replacedJobs, restoredFrom: undefined };
}

export interface JobStatus {
  /** True when a job of this name is RUNNING. */
  running: boolean;
  /** The newest live job's state, or undefined when no job of this name is alive. */
  state: JobState | undefined;
  jobId: string | undefined;
  /** Live jobs of this name; more than one means two deploys raced. */
  instances: number;
}

/** Whether the named job is running. Throws JobManagerError when Flink does not answer. */
export async function jobStatusOf(
  jobManager: JobManagerClient,
  jobName: string,
  signal?: AbortSignal,
): Promise<JobStatus> {
  const live = await liveJobs(jobManager, jobName, signal);
  const running = live.find((j) => j.state === 'RUNNING');
  const shown = running ?? live[0];
  return { running: running !== undefined, state: shown?.state, jobId: shown?.id, instances: live.length };
}

/**
 * Whether the configured processing job is RUNNING, for the gateway's `health`; `signal` bounds the
 * call by the health check's own deadline. Throws JobManagerError when Flink does not answer.
 */
export async function jobStatus(
  config: Pick<Config, 'flink'>,
  options: { signal?: AbortSignal; jobManager?: JobManagerClient } = {},
): Promise<JobStatus> {
  const jobManager = options.jobManager ?? createJobManagerClient({ url: config.flink.restUrl });
  return jobStatusOf(jobManager, config.flink.jobName, options.signal);
}
