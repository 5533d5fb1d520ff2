/**
 * A real gateway in a child process of its own (its own CPU time and event loop, as in a
 * deployment), on a free port, for the read benchmarks. `startGatewayChild(env)` forks this file;
 * the child answers 'stats' with its Trino service's counters and exits on 'stop'.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gatewayNodeFlags } from './production.js';

const self = fileURLToPath(import.meta.url);

export interface GatewayChild {
  url: string;
  port: number;
  /** The child's process id (its memory can be read from /proc). */
  pid: number;
  trinoStats(): Promise<{ hits: number; misses: number; trinoQueries: number }>;
  stop(): Promise<void>;
}

type FromChild =
  { kind: 'ready'; port: number } | { kind: 'stats'; stats: { hits: number; misses: number; trinoQueries: number } };

export async function startGatewayChild(env: Record<string, string>): Promise<GatewayChild> {
  const child: ChildProcess = fork(self, ['--gateway-child'], {
    execArgv: ['--import', 'tsx', ...gatewayNodeFlags],
    env: { ...process.env, LOG_LEVEL: 'warn', GRAPHIQL: 'false', ...env, PORT: '0' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onMessage = (m: FromChild) => {
      if (m.kind === 'ready') {
        child.off('message', onMessage);
        resolve(m.port);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`gateway child exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port,
    pid: child.pid ?? -1,
    trinoStats: () =>
      new Promise((resolve) => {
        const onMessage = (m: FromChild) => {
          if (m.kind === 'stats') {
            child.off('message', onMessage);
            resolve(m.stats);
          }
        };
        child.on('message', onMessage);
        child.send('stats');
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send('stop');
      await exited;
    },
  };
}

async function runChild(): Promise<void> {
  const { loadConfig } = await import('../../src/config.js');
  const { createLogger } = await import('../../src/logger.js');
  const { createGateway } = await import('../../src/gateway/app.js');
  const config = loadConfig();
  const gateway = createGateway({ config, logger: createLogger(config, 'bench-gateway') });
  const { port } = await gateway.start();
  process.send?.({ kind: 'ready', port });
  process.on('message', (m) => {
    if (m === 'stats') {
      const s = gateway.services.trino.stats() as unknown as Record<string, number>;
      process.send?.({
        kind: 'stats',
        stats: { hits: s.hits ?? 0, misses: s.misses ?? 0, trinoQueries: s.trinoQueries ?? 0 },
      });
    }
    if (m === 'stop') void gateway.stop().then(() => process.exit(0));
  });
}

if (process.argv.includes('--gateway-child')) await runChild();
