/**
 * Live-subscription benchmark: N graphql-ws subscribers on one gateway process, spread over U
 * users, while metric windows are produced straight onto the processed topic at R events/s.
 *
 *   npx tsx bench/live.bench.ts [--short] [--subscribers N] [--users U] [--rate R] [--seconds S] [--client-procs K]
 *
 * One file, three roles (forked child processes, so the gateway's memory and CPU are its own):
 * - gateway: a real gateway (createGateway) on a free port; answers stats requests over IPC.
 * - clients: opens its share of WebSocket connections (one graphql-ws client and one subscription
 *   each) and records, per event received, receipt time minus the Kafka message timestamp (which the
 *   producer sets to its send time and also embeds in the window's `sum`).
 * - main: measures gateway memory before and after the subscribers join, produces at the rate for
 *   the duration, then collects latencies and CPU, and writes bench/results/live.json.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { loadConfig } from '../src/config.js';

const self = fileURLToPath(import.meta.url);
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const short = process.argv.includes('--short');
const role = arg('role') ?? 'main';

type Msg =
  | { kind: 'ready'; port: number }
  | {
      kind: 'stats';
      rss: number;
      heapUsed: number;
      cpuUserUs: number;
      cpuSystemUs: number;
      subscribers: number;
      dropped: number;
      delivered: number;
    }
  | { kind: 'connected'; count: number; failed: number }
  | { kind: 'latencies'; values: number[]; received: number; cpuUs: number };

const send = (m: Msg) => process.send?.(m);
const ask = <T extends Msg['kind']>(
  child: ChildProcess,
  request: string,
  kind: T,
): Promise<Extract<Msg, { kind: T }>> =>
  new Promise((resolve) => {
    const on = (m: Msg) => {
      if (m.kind === kind) {
        child.off('message', on);
        resolve(m as Extract<Msg, { kind: T }>);
      }
    };
    child.on('message', on);
    child.send(request);
  });

async function gatewayRole(): Promise<void> {
  const { createLogger } = await import('../src/logger.js');
  const { createGateway } = await import('../src/gateway/app.js');
  const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'warn' });
  const gateway = createGateway(config, createLogger(config, 'bench-gateway'));
  const { port } = await gateway.start();
  process.on('message', (m: string) => {
    if (m === 'stats') {
      (globalThis as { gc?: () => void }).gc?.();
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      const live = gateway.services.live.stats();
      send({
        kind: 'stats',
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        subscribers: live.subscribers,
        dropped: live.dropped,
        delivered: live.delivered,
      });
    } else if (m === 'stop') {
      void gateway.stop().then(() => process.exit(0));
    }
  });
  send({ kind: 'ready', port });
}

async function clientsRole(): Promise<void> {
  const port = Number(arg('port'));
  const from = Number(arg('from'));
  const count = Number(arg('count'));
  const users = Number(arg('users'));
  const latencies: number[] = [];
  let received = 0;
  let failed = 0;
  let connected = 0;
  let cpuAtReset = process.cpuUsage();
  const clients: Client[] = [];
  const query = 'subscription($u: ID!) { metricWindows(userId: $u) { userId windowStart sum } }';
  // Connect in waves so the listen backlog never overflows.
  const WAVE = 250;
  for (let i = 0; i < count; i += WAVE) {
    const wave: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + WAVE); j += 1) {
      const n = from + j;
      wave.push(
        new Promise<void>((resolve) => {
          const client = createClient({
            url: `ws://127.0.0.1:${port}/graphql`,
            webSocketImpl: WebSocket,
            lazy: false,
            retryAttempts: 0,
            connectionParams: { authorization: 'Bearer bench' },
            on: { connected: () => resolve() },
            onNonLazyError: () => {
              failed += 1;
              resolve();
            },
          });
          clients.push(client);
          client.subscribe<{ metricWindows: { sum: number } }>(
            { query, variables: { u: `bench-u${n % users}` } },
            {
              next: (r) => {
                const sent = r.data?.metricWindows.sum;
                if (sent !== undefined) {
                  received += 1;
                  latencies.push(Date.now() - sent);
                }
              },
              error: () => undefined,
              complete: () => undefined,
            },
          );
        }),
      );
    }
    await Promise.all(wave);
    connected = Math.min(count, i + WAVE);
  }
  send({ kind: 'connected', count: connected - failed, failed });
  process.on('message', (m: string) => {
    if (m === 'latencies') {
      const cpu = process.cpuUsage(cpuAtReset);
      send({ kind: 'latencies', values: latencies.splice(0), received, cpuUs: cpu.user + cpu.system });
    }
    if (m === 'reset') {
      latencies.length = 0;
      cpuAtReset = process.cpuUsage();
    }
    if (m === 'stop') {
      for (const c of clients) void c.dispose();
      setTimeout(() => process.exit(0), 500).unref();
    }
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function mainRole(): Promise<void> {
  const subscribers = Number(arg('subscribers') ?? (short ? 1000 : 10_000));
  const users = Number(arg('users') ?? (short ? 100 : 1000));
  const rate = Number(arg('rate') ?? 1000);
  const seconds = Number(arg('seconds') ?? (short ? 10 : 30));
  const procs = Number(arg('client-procs') ?? 2);
  const config = loadConfig();
  const topic = config.kafka.topics.processed;
  const log = (s: string) => console.log(`[live bench] ${s}`);
  log(`${subscribers} subscribers over ${users} users, ${rate} events/s for ${seconds} s, ${procs} client process(es)`);

  const gateway = fork(self, ['--role', 'gateway'], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<Extract<Msg, { kind: 'ready' }>>((resolve) =>
    gateway.once('message', (m: Msg) => m.kind === 'ready' && resolve(m)),
  );
  // Let start-up garbage settle before the baseline.
  await new Promise((r) => setTimeout(r, 2000));
  const before = await ask(gateway, 'stats', 'stats');

  const share = Math.ceil(subscribers / procs);
  const clientProcs: ChildProcess[] = [];
  const t0 = Date.now();
  const connectedAll = await Promise.all(
    Array.from({ length: procs }, (_, k) => {
      const child = fork(
        self,
        [
          '--role',
          'clients',
          '--port',
          String(ready.port),
          '--from',
          String(k * share),
          '--count',
          String(Math.min(share, subscribers - k * share)),
          '--users',
          String(users),
        ],
        { execArgv: ['--import', 'tsx', '--max-old-space-size=4096'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      clientProcs.push(child);
      return new Promise<Extract<Msg, { kind: 'connected' }>>((resolve) =>
        child.on('message', (m: Msg) => m.kind === 'connected' && resolve(m)),
      );
    }),
  );
  const connected = connectedAll.reduce((a, c) => a + c.count, 0);
  log(`${connected} connected (${connectedAll.reduce((a, c) => a + c.failed, 0)} failed) in ${Date.now() - t0} ms`);
  await waitUntil(
    'subscriptions registered',
    async () => (await ask(gateway, 'stats', 'stats')).subscribers >= connected,
    120_000,
  );
  await new Promise((r) => setTimeout(r, 2000));
  const after = await ask(gateway, 'stats', 'stats');
  const rssPerSub = (after.rss - before.rss) / connected;
  const heapPerSub = (after.heapUsed - before.heapUsed) / connected;
  log(
    `memory: rss +${((after.rss - before.rss) / 1048576).toFixed(1)} MiB, heap +${((after.heapUsed - before.heapUsed) / 1048576).toFixed(1)} MiB -> ${(rssPerSub / 1024).toFixed(2)} KiB rss / ${(heapPerSub / 1024).toFixed(2)} KiB heap per subscriber`,
  );

  const kafka = new Kafka({ clientId: 'live-bench', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  // Warm-up: one second at the rate, not measured.
  let seq = 0;
  const produceFor = async (ms: number): Promise<number> => {
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    const start = Date.now();
    let sent = 0;
    const inflight: Promise<unknown>[] = [];
    for (let tick = 0; Date.now() - start < ms; tick += 1) {
      const now = Date.now();
      const messages = Array.from({ length: perTick }, () => {
        const n = seq++;
        const userId = `bench-u${n % users}`;
        const windowStart = new Date(Date.UTC(2020, 0, 1) + n * 60_000);
        return {
          key: userId,
          timestamp: String(now),
          value: JSON.stringify({
            userId,
            metric: 'heart_rate',
            windowStart: windowStart.toISOString(),
            windowEnd: new Date(windowStart.getTime() + 60_000).toISOString(),
            count: 1,
            avg: 60,
            min: 60,
            max: 60,
            sum: now, // the send time, read back by the clients
          }),
        };
      });
      inflight.push(producer.send({ topic, acks: 1, messages }));
      sent += perTick;
      if (inflight.length > 50) await inflight.shift();
      const next = start + (tick + 1) * tickMs;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await Promise.all(inflight);
    return sent;
  };
  await produceFor(1000);
  await new Promise((r) => setTimeout(r, 1000));
  for (const c of clientProcs) c.send('reset');

  const cpuBefore = await ask(gateway, 'stats', 'stats');
  const wallStart = Date.now();
  const produced = await produceFor(seconds * 1000);
  // Give the tail time to arrive before measuring CPU and collecting.
  await new Promise((r) => setTimeout(r, 2000));
  const wallMs = Date.now() - wallStart;
  const cpuAfter = await ask(gateway, 'stats', 'stats');
  const cpuPct =
    ((cpuAfter.cpuUserUs + cpuAfter.cpuSystemUs - cpuBefore.cpuUserUs - cpuBefore.cpuSystemUs) / 1000 / wallMs) * 100;
  const parts = await Promise.all(clientProcs.map((c) => ask(c, 'latencies', 'latencies')));
  const all = parts.flatMap((p) => p.values).sort((a, b) => a - b);
  const expected = produced * (connected / users);
  const p50 = percentile(all, 50);
  const p99 = percentile(all, 99);
  const max = all[all.length - 1] ?? Number.NaN;
  const droppedDuring = cpuAfter.dropped - cpuBefore.dropped;
  log(
    `produced ${produced} events in ${seconds} s; deliveries received ${all.length} of ~${Math.round(expected)}; dropped ${droppedDuring}`,
  );
  log(`latency Kafka append -> client: p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`);
  const clientCpuPct = parts.map((p) => ((p.cpuUs / 1000 / (Date.now() - wallStart)) * 100).toFixed(0));
  log(
    `gateway CPU ${cpuPct.toFixed(0)} % of one core (${((connected / users) * rate).toFixed(0)} deliveries/s); client processes ${clientCpuPct.join(', ')} %`,
  );

  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'cpu'}), ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}; gateway, client processes and Kafka on the same machine`;
  const setup = {
    subscribers: connected,
    users,
    ratePerSecond: rate,
    seconds,
    clientProcesses: procs,
    produced,
    received: all.length,
    expected: Math.round(expected),
    dropped: droppedDuring,
    maxMs: max,
    mode: short ? 'short' : 'full',
  };
  const results = [
    { name: 'live delivery latency p50 (Kafka append -> client)', figure: p50, unit: 'ms', machine, setup },
    {
      name: 'live delivery latency p99 (Kafka append -> client)',
      figure: p99,
      unit: 'ms',
      baseline: 200,
      ratio: Number((p99 / 200).toFixed(3)),
      machine,
      setup,
    },
    {
      name: 'live gateway RSS per subscriber',
      figure: Number((rssPerSub / 1024).toFixed(2)),
      unit: 'KiB',
      baseline: 10,
      ratio: Number((rssPerSub / 1024 / 10).toFixed(3)),
      machine,
      setup,
    },
    {
      name: 'live gateway heap per subscriber',
      figure: Number((heapPerSub / 1024).toFixed(2)),
      unit: 'KiB',
      machine,
      setup,
    },
    { name: 'live gateway CPU', figure: Number(cpuPct.toFixed(1)), unit: '% of one core', machine, setup },
  ];
  mkdirSync('bench/results', { recursive: true });
  const file = short ? 'bench/results/live.short.json' : 'bench/results/live.json';
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  log(`wrote ${file}`);

  await producer.disconnect();
  for (const c of clientProcs) c.send('stop');
  gateway.send('stop');
  await new Promise((r) => setTimeout(r, 3000));
  for (const c of [...clientProcs, gateway]) if (c.exitCode === null) c.kill('SIGTERM');
}

if (role === 'gateway') await gatewayRole();
else if (role === 'clients') await clientsRole();
else await mainRole();
