/**
 * `npm run dev`: the whole thing on this machine. Brings the stack up, applies migrations, deploys
 * the Flink job, then runs the consumer worker and the gateway until Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { CONSUMER_NODE_FLAGS } from '../src/consumer/node.flags.js';

const tsx = 'node_modules/.bin/tsx';
// Logs for a person at a terminal unless asked otherwise (LOG_FORMAT=json).
const env = {
  ...process.env,
  NODE_ENV: process.env.NODE_ENV ?? 'development',
  LOG_FORMAT: process.env.LOG_FORMAT ?? 'pretty',
};

function step(title: string, args: string[]): void {
  console.log(`\n== ${title}`);
  const res = spawnSync(tsx, args, { stdio: 'inherit', env });
  if (res.status !== 0) {
    console.error(`${title} failed (exit ${res.status ?? res.signal})`);
    process.exit(1);
  }
}

step('stack', ['stack/cli.ts', 'up']);
step('migrations', ['src/timescale/migrate.main.ts']);
step('Flink job', ['src/flink/deploy.main.ts']);

const children: ChildProcess[] = [];
/**
 * Each server runs in a process group of its own, so that it hears one signal, the SIGTERM sent
 * below: Ctrl-C signals the terminal's whole group, and a second signal makes a server exit at
 * once instead of draining (src/process/run.ts). And as `node --import tsx`, not through the tsx
 * command, whose signal relay SIGKILLs a child that has not acknowledged the signal within 30 ms.
 */
function run(name: string, script: string, nodeFlags: readonly string[] = []): void {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeFlags, script], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
    detached: true,
  });
  child.on('exit', (code, signal) => {
    console.error(`${name} exited (${code ?? signal})`);
    if (!stopping) shutdown(1);
  });
  children.push(child);
}

let stopping = false;
function shutdown(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  // Past the servers' own shutdown deadline (25 s), so that none is left running on its own.
  setTimeout(() => process.exit(code), 30_000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r))))).then(() =>
    process.exit(code),
  );
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
// The servers are not in the terminal's group: closing the terminal reaches them through here.
process.on('SIGHUP', () => shutdown(0));

console.log('\n== consumer worker and gateway (Ctrl-C stops them; `npm run stack:down` stops the stack)');
run('consumer', 'src/consumer/main.ts', CONSUMER_NODE_FLAGS);
run('gateway', 'src/gateway/main.ts');
