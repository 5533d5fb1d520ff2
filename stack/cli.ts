/**
 * `npm run stack:{fetch,up,status,down} [service...]`: the real Kafka, Flink, Trino and Postgres as
 * local processes. `up` is idempotent and returns once every service answers a real request.
 */
import { createStackContext } from './lib/context.js';
import { runningPid, stopProcess, waitUntilReady } from './lib/process.js';
import type { ServiceDefinition, StackContext } from './lib/service.js';
import { services } from './services/index.js';

function select(names: string[]): ServiceDefinition[] {
  if (names.length === 0) return services;
  const unknown = names.filter((n) => !services.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown service(s) ${unknown.join(', ')}; expected some of ${services.map((s) => s.name).join(', ')}`,
    );
  }
  return services.filter((s) => names.includes(s.name));
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function fetchAll(ctx: StackContext, chosen: ServiceDefinition[]) {
  for (const s of chosen) await s.fetch(ctx);
}

async function up(ctx: StackContext, chosen: ServiceDefinition[]) {
  const t0 = Date.now();
  await fetchAll(ctx, chosen);
  const tFetched = Date.now();
  // Start everything first, then wait for all: the JVMs warm up side by side.
  for (const s of chosen) {
    const wasUp = s.processes(ctx).length > 0 && s.processes(ctx).every((p) => runningPid(ctx.paths, p) !== undefined);
    await s.start(ctx);
    if (!wasUp && s.processes(ctx).length > 0) ctx.log(`${s.name}: started`);
  }
  const results = await Promise.allSettled(
    chosen.map(async (s) => {
      const started = Date.now();
      await waitUntilReady(ctx.paths, s.name, () => s.probe(ctx), s.startTimeoutMs, s.processes(ctx));
      await s.afterStart?.(ctx);
      return { s, ms: Date.now() - started };
    }),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const r of results) {
    if (r.status === 'fulfilled') {
      const eps = Object.entries(r.value.s.endpoints(ctx))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(`  ✓ ${r.value.s.name.padEnd(9)} ready after ${seconds(r.value.ms)}  ${eps}`);
    }
  }
  for (const r of failed) console.error(`  ✗ ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
  console.log(
    `stack: fetch ${seconds(tFetched - t0)}, start ${seconds(Date.now() - tFetched)}; logs in ${ctx.paths.logs}`,
  );
  if (failed.length > 0) process.exitCode = 1;
}

async function status(ctx: StackContext, chosen: ServiceDefinition[]) {
  let down = 0;
  for (const s of chosen) {
    const pids = s.processes(ctx).map((p) => `${p}=${runningPid(ctx.paths, p) ?? 'not running'}`);
    const started = Date.now();
    try {
      await s.probe(ctx);
      console.log(`  ✓ ${s.name.padEnd(9)} answers in ${Date.now() - started} ms  ${pids.join(' ')}`);
    } catch (err) {
      down += 1;
      console.log(`  ✗ ${s.name.padEnd(9)} ${err instanceof Error ? err.message : String(err)}  ${pids.join(' ')}`);
    }
  }
  if (down > 0) process.exitCode = 1;
}

async function downAll(ctx: StackContext, chosen: ServiceDefinition[]) {
  for (const s of [...chosen].reverse()) {
    if (s.stop) await s.stop(ctx);
    else for (const p of [...s.processes(ctx)].reverse()) await stopProcess(ctx.paths, p);
    ctx.log(`${s.name}: stopped (if it was started by this stack)`);
  }
}

async function main() {
  const [command = 'status', ...names] = process.argv.slice(2);
  const ctx = createStackContext();
  const chosen = select(names);
  switch (command) {
    case 'fetch':
      return fetchAll(ctx, chosen);
    case 'up':
      return up(ctx, chosen);
    case 'status':
      return status(ctx, chosen);
    case 'down':
      return downAll(ctx, chosen);
    default:
      throw new Error(`unknown command ${command}; expected fetch, up, status or down`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
