/**
 * `npm run dev`: the whole thing on this machine. Brings the stack up, applies migrations, deploys
 * the Flink job, then runs the consumer worker and the gateway until Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

const tsx = 'node_modules/.bin/tsx';
const env = { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'development' };

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
if (existsSync('src/flink/deploy.main.ts')) step('Flink job', ['src/flink/deploy.main.ts']);

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/**
 * The processes log JSON (one object per line, what a collector wants); at this terminal each line
 * becomes `time LEVEL service: message key=value...`. Anything that is not a JSON object passes as is.
 */
function readable(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const { level, time, msg, service, name, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<
      string,
      unknown
    >;
    const at = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const who = String(service ?? name ?? '');
    return `${at} ${(LEVELS[Number(level)] ?? String(level)).padEnd(5)} ${who}: ${String(msg ?? '')}${extra ? `  ${extra}` : ''}`;
  } catch {
    return line;
  }
}

const children: ChildProcess[] = [];
function run(name: string, script: string): void {
  const child = spawn(tsx, [script], { stdio: ['ignore', 'pipe', 'pipe'], env });
  for (const [from, to] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    if (from) createInterface({ input: from }).on('line', (line) => to.write(`${readable(line)}\n`));
  }
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
  setTimeout(() => process.exit(code), 5000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r))))).then(() =>
    process.exit(code),
  );
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

console.log('\n== consumer worker and gateway (Ctrl-C stops them; `npm run stack:down` stops the stack)');
if (existsSync('src/consumer/main.ts')) run('consumer', 'src/consumer/main.ts');
run('gateway', 'src/gateway/main.ts');
