/**
 * The faults the soak injects into the cluster profile, one at a time: a Kafka broker killed or
 * frozen, a Flink TaskManager killed, the Trino worker killed, the private Postgres restarted. Each
 * fault ends with the service back and healthy (or throws), so the next one starts from a whole
 * cluster. `restoreCluster` brings back whatever a fault left down, whatever happened.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { runningPid } from '../../stack/lib/process.js';
import { bringUp } from '../../stack/lib/context.js';
import type { StackContext } from '../../stack/lib/service.js';
import { flink, taskManagerNames } from '../../stack/services/flink.js';
import { kafkaNodes, startKafkaNode } from '../../stack/services/kafka.js';
import { isPrivate, postgres } from '../../stack/services/postgres.js';
import { activeTrinoWorkers, startTrinoNode, trinoNodes } from '../../stack/services/trino.js';
import type { JobManagerClient } from '../../src/flink/jobmanager.client.js';

export const FAULT_KINDS = [
  'kafka-kill',
  'kafka-freeze',
  'taskmanager-kill',
  'trino-worker-kill',
  'postgres-restart',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRecord {
  kind: FaultKind;
  /** The process the fault hit. */
  target: string;
  at: number;
  /** How long the process was gone or frozen. */
  downMs: number;
  /** From its return until the service was whole again (replicas in sync, job running, worker active). */
  recoveryMs: number;
  /** When the fault, recovery included, was over. */
  endedAt: number;
  /** Processes started again. */
  restarts: number;
}

export interface FaultDeps {
  ctx: StackContext;
  /** An admin client of the cluster, for the replica state of `topic`. */
  admin: Admin;
  topic: string;
  jobManager: JobManagerClient;
  jobId: string;
  log: (message: string) => void;
}

const between = (lo: number, hi: number): number => lo + Math.random() * (hi - lo);
export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(500);
  }
}

function signal(ctx: StackContext, name: string, sig: NodeJS.Signals): void {
  const pid = runningPid(ctx.paths, name);
  if (pid === undefined) throw new Error(`${name} is not running`);
  process.kill(pid, sig);
}

async function fullyReplicated(deps: FaultDeps): Promise<boolean> {
  const meta = await deps.admin.fetchTopicMetadata({ topics: [deps.topic] });
  const replicas = kafkaNodes(deps.ctx).length;
  return meta.topics[0]?.partitions.every((p) => p.isr.length === replicas) ?? false;
}

async function jobRunning(deps: FaultDeps): Promise<boolean> {
  const overview = await deps.jobManager.overview();
  const state = await deps.jobManager.jobState(deps.jobId);
  return overview.taskManagers >= deps.ctx.config.flink.taskManagers && state === 'RUNNING';
}

/** Injects one fault of `kind` and returns once the cluster is whole again. */
export async function injectFault(kind: FaultKind, deps: FaultDeps): Promise<FaultRecord> {
  const { ctx } = deps;
  const at = Date.now();
  let target = '';
  let back = at;
  let restarts = 0;
  switch (kind) {
    case 'kafka-kill': {
      const node = pick(kafkaNodes(ctx));
      target = node.name;
      signal(ctx, node.name, 'SIGKILL');
      await until(`${node.name} gone`, 10_000, async () => runningPid(ctx.paths, node.name) === undefined);
      await sleep(between(20_000, 40_000));
      startKafkaNode(ctx, node);
      back = Date.now();
      restarts = 1;
      await until('every replica back in sync', 180_000, () => fullyReplicated(deps));
      break;
    }
    case 'kafka-freeze': {
      const node = pick(kafkaNodes(ctx));
      target = node.name;
      signal(ctx, node.name, 'SIGSTOP');
      await sleep(between(15_000, 25_000));
      signal(ctx, node.name, 'SIGCONT');
      back = Date.now();
      await until('every replica back in sync', 180_000, () => fullyReplicated(deps));
      break;
    }
    case 'taskmanager-kill': {
      target = pick(taskManagerNames(ctx));
      signal(ctx, target, 'SIGKILL');
      await until(`${target} gone`, 10_000, async () => runningPid(ctx.paths, target) === undefined);
      await sleep(30_000);
      await flink.start(ctx); // starts only the missing TaskManager
      back = Date.now();
      restarts = 1;
      await until('both TaskManagers registered and the job running', 240_000, () => jobRunning(deps));
      break;
    }
    case 'trino-worker-kill': {
      const node = trinoNodes(ctx.config).find((n) => !n.coordinator);
      if (node === undefined) throw new Error('the stack runs no Trino worker');
      target = node.name;
      signal(ctx, node.name, 'SIGKILL');
      await until(`${node.name} gone`, 10_000, async () => runningPid(ctx.paths, node.name) === undefined);
      await sleep(between(5_000, 15_000));
      startTrinoNode(ctx, node);
      back = Date.now();
      restarts = 1;
      await until(
        'the Trino worker active again',
        300_000,
        async () => (await activeTrinoWorkers(ctx.config.trino.server)) >= 1,
      );
      break;
    }
    case 'postgres-restart': {
      if (!isPrivate(ctx))
        throw new Error('the cluster does not run its own Postgres; refusing to restart a shared one');
      target = 'postgres';
      await postgres.stop!(ctx);
      back = Date.now();
      await bringUp(ctx, postgres);
      restarts = 1;
      break;
    }
  }
  const endedAt = Date.now();
  deps.log(`${kind} ${target}: down ${back - at} ms, whole again after ${endedAt - back} ms`);
  return { kind, target, at, downMs: back - at, recoveryMs: endedAt - back, endedAt, restarts };
}

/** Thaws and starts whatever a fault may have left frozen or down. Errors are logged, not thrown. */
export async function restoreCluster(ctx: StackContext, log: (m: string) => void): Promise<void> {
  for (const node of kafkaNodes(ctx)) {
    const pid = runningPid(ctx.paths, node.name);
    try {
      if (pid !== undefined) process.kill(pid, 'SIGCONT');
      else startKafkaNode(ctx, node);
    } catch (err) {
      log(`restoring ${node.name}: ${String(err)}`);
    }
  }
  try {
    await flink.start(ctx);
    const worker = trinoNodes(ctx.config).find((n) => !n.coordinator);
    if (worker !== undefined) startTrinoNode(ctx, worker);
    await bringUp(ctx, postgres);
  } catch (err) {
    log(`restoring the cluster: ${String(err)}`);
  }
}
