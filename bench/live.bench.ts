/**
 * Live-subscription benchmark: graphql-ws subscribers on one gateway process, while metric windows
 * are produced straight onto the processed topic; a growth curve over the number of subscribers.
 *
 *   npm run bench:live [-- --full]
 *   npx tsx bench/live.bench.ts [--full] [--subscribers N | --tiers N1,N2,...] [--per-user P]
 *     [--user-rate R | --rate R] [--seconds S] [--client-procs K]
 *
 * Tiers of subscribers: short mode 1,000 and 5,000; full mode 1,000, 5,000, 10,000 and 20,000
 * (`--subscribers N` measures one tier, `--tiers` a list). Every tier keeps the same shape: P
 * subscribers per user (default 10; one WebSocket connection with one subscription each) and R
 * windows per user per second (default 1), so users and the event rate grow with the tier; the
 * 10,000 tier is 1,000 users at 1,000 windows/s, 10,000 deliveries/s. `--rate` fixes the total rate.
 *
 * One file, three roles (forked child processes, so the gateway's memory and CPU are its own):
 * - gateway: a real gateway (createGateway) in production mode with authentication on (the clients
 *   send a token in connection_init), on a free port; answers stats requests over IPC, with the
 *   memory figures taken right after a forced full GC (the child runs with --expose-gc).
 * - clients: open their share of connections and record, per event received, receipt time minus the
 *   send time the producer embeds in the window's `sum`.
 * - main: per tier, a fresh gateway and fresh client processes: gateway memory before and after the
 *   subscribers join, then the rate for the duration, then latencies and gateway CPU. Writes
 *   bench/results/live.json (growth points carry `series`/`x`, drawn into bench/results/growth.svg).
 *
 * Limits checked before each tier (a tier beyond them is skipped with a note): the gateway holds
 * one file descriptor per connection and each client process one per connection of its share
 * (`ulimit -n`: Node raises its soft limit to the hard limit, so the hard limit is what counts), and
 * every connection from one client address to the gateway's port needs its own ephemeral port
 * (/proc/sys/net/ipv4/ip_local_port_range).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { loadConfig } from '../src/config.js';
import { renderGrowthSvg } from './lib/plot.js';
import { benchToken, gatewayNodeFlags, productionEnv } from './lib/production.js';
import { percentile, round, writeResult, type Figure } from './lib/report.js';

const self = fileURLToPath(import.meta.url);
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
// Short unless --full, like the other benchmarks (`--short` is still accepted).
const run: 'short' | 'full' = process.argv.includes('--full') ? 'full' : 'short';
const role = arg('role') ?? 'main';

type Msg =
  | { kind: 'ready'; port: number }
  | {
      kind: 'stats';
      rss: number;
      heapUsed: number;
      heapTotal: number;
      external: number;
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
  const gateway = createGateway({ config, logger: createLogger(config, 'bench-gateway') });
  const { port } = await gateway.start();
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (m: string) => {
    if (m === 'stats') {
      // Twice: the first full GC can leave garbage that only its finalizers released.
      gc?.();
      gc?.();
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      const live = gateway.services.live.stats();
      send({
        kind: 'stats',
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        heapTotal: mem.heapTotal,
        external: mem.external,
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
  const authorization = `Bearer ${arg('token') ?? ''}`;
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
            connectionParams: { authorization },
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

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * This process's open-files limits; Infinity where /proc is not there. Node raises its soft limit
 * to the hard limit when it starts, so both read the hard limit, which is what every child gets.
 */
function openFilesLimit(): { soft: number; hard: number } {
  const line = existsSync('/proc/self/limits')
    ? readFileSync('/proc/self/limits', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('Max open files'))
    : undefined;
  const [soft, hard] = (line?.match(/(\d+|unlimited)\s+(\d+|unlimited)/)?.slice(1) ?? []).map((v) =>
    v === 'unlimited' ? Infinity : Number(v),
  );
  return { soft: soft ?? Infinity, hard: hard ?? Infinity };
}

/** Ephemeral ports for outgoing connections; Infinity where /proc is not there. */
function ephemeralPorts(): { range: string; count: number } {
  const file = '/proc/sys/net/ipv4/ip_local_port_range';
  if (!existsSync(file)) return { range: 'unknown', count: Infinity };
  const [lo, hi] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
  return { range: `${lo}-${hi}`, count: (hi ?? 0) - (lo ?? 0) + 1 };
}

/** File descriptors a process needs beyond its connections: Kafka, stdio, IPC, the listener, epoll. */
const FD_MARGIN = 100;

interface Tier {
  subscribers: number;
  users: number;
  rate: number;
  clientProcs: number;
}

interface Point extends Tier {
  connected: number;
  failed: number;
  connectMs: number;
  rssPerSub: number;
  heapPerSub: number;
  /** Heap committed but unused after start-up (and GC): new subscribers fill it before RSS grows. */
  heapSlackBefore: number;
  p50: number;
  p99: number;
  max: number;
  cpuPct: number;
  clientCpuPct: number[];
  produced: number;
  received: number;
  expected: number;
  dropped: number;
}

/** The gateway child: production mode, with a token expected in connection_init. */
function startGateway(): ChildProcess {
  return fork(self, ['--role', 'gateway'], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...gatewayNodeFlags],
    env: {
      ...process.env,
      ...productionEnv,
      // One token for every connection: one subject, so the per-subject connection limit is off.
      LIVE_MAX_CONNECTIONS_PER_SUBJECT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

async function measureTier(
  tier: Tier,
  seconds: number,
  producer: Producer,
  topic: string,
  token: string,
  log: (s: string) => void,
): Promise<Point> {
  const { subscribers, users, rate, clientProcs: procs } = tier;
  log(
    `-- ${subscribers} subscribers over ${users} users, ${rate} windows/s for ${seconds} s, ${procs} client process(es)`,
  );
  const gateway = startGateway();
  const clientProcs: ChildProcess[] = [];
  try {
    const ready = await new Promise<Extract<Msg, { kind: 'ready' }>>((resolve, reject) => {
      gateway.once('message', (m: Msg) => m.kind === 'ready' && resolve(m));
      gateway.once('exit', (code) => reject(new Error(`gateway child exited with ${code} before it was ready`)));
    });
    // Let start-up garbage settle before the baseline.
    await sleep(2000);
    const before = await ask(gateway, 'stats', 'stats');

    const share = Math.ceil(subscribers / procs);
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
            String(Math.max(0, Math.min(share, subscribers - k * share))),
            '--users',
            String(users),
            '--token',
            token,
          ],
          {
            execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          },
        );
        clientProcs.push(child);
        return new Promise<Extract<Msg, { kind: 'connected' }>>((resolve) =>
          child.on('message', (m: Msg) => m.kind === 'connected' && resolve(m)),
        );
      }),
    );
    const connectMs = Date.now() - t0;
    const connected = connectedAll.reduce((a, c) => a + c.count, 0);
    const failed = connectedAll.reduce((a, c) => a + c.failed, 0);
    log(`${connected} connected (${failed} failed) in ${connectMs} ms`);
    await waitUntil(
      'subscriptions registered',
      async () => (await ask(gateway, 'stats', 'stats')).subscribers >= connected,
      120_000,
    );
    await sleep(2000);
    const after = await ask(gateway, 'stats', 'stats');
    const rssPerSub = (after.rss - before.rss) / connected;
    const heapPerSub = (after.heapUsed - before.heapUsed) / connected;
    const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
    log(
      `memory after GC: rss +${mib(after.rss - before.rss)} MiB, heap +${mib(after.heapUsed - before.heapUsed)} MiB ` +
        `(unused heap before: ${mib(before.heapTotal - before.heapUsed)} MiB), external +${mib(after.external - before.external)} MiB ` +
        `-> ${(rssPerSub / 1024).toFixed(2)} KiB rss / ${(heapPerSub / 1024).toFixed(2)} KiB heap per subscriber`,
    );

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
        if (wait > 0) await sleep(wait);
      }
      await Promise.all(inflight);
      return sent;
    };
    // Warm-up: one second at the rate, not measured.
    await produceFor(1000);
    await sleep(1000);
    for (const c of clientProcs) c.send('reset');

    const cpuBefore = await ask(gateway, 'stats', 'stats');
    const wallStart = Date.now();
    const produced = await produceFor(seconds * 1000);
    // Give the tail time to arrive before measuring CPU and collecting.
    await sleep(2000);
    const wallMs = Date.now() - wallStart;
    const cpuAfter = await ask(gateway, 'stats', 'stats');
    const cpuPct =
      ((cpuAfter.cpuUserUs + cpuAfter.cpuSystemUs - cpuBefore.cpuUserUs - cpuBefore.cpuSystemUs) / 1000 / wallMs) * 100;
    const parts = await Promise.all(clientProcs.map((c) => ask(c, 'latencies', 'latencies')));
    const all = parts.flatMap((p) => p.values).sort((a, b) => a - b);
    const expected = produced * (connected / users);
    const point: Point = {
      ...tier,
      connected,
      failed,
      connectMs,
      rssPerSub,
      heapPerSub,
      heapSlackBefore: before.heapTotal - before.heapUsed,
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      max: all[all.length - 1] ?? Number.NaN,
      cpuPct,
      clientCpuPct: parts.map((p) => Math.round((p.cpuUs / 1000 / (Date.now() - wallStart)) * 100)),
      produced,
      received: all.length,
      expected: Math.round(expected),
      dropped: cpuAfter.dropped - cpuBefore.dropped,
    };
    log(
      `produced ${produced} windows in ${seconds} s; deliveries received ${all.length} of ~${point.expected}; dropped ${point.dropped}`,
    );
    log(`latency Kafka append -> client: p50 ${point.p50} ms, p99 ${point.p99} ms, max ${point.max} ms`);
    log(
      `gateway CPU ${cpuPct.toFixed(0)} % of one core (${((connected / users) * rate).toFixed(0)} deliveries/s); client processes ${point.clientCpuPct.join(', ')} %`,
    );
    return point;
  } finally {
    for (const c of clientProcs) if (c.connected) c.send('stop');
    if (gateway.connected) gateway.send('stop');
    await sleep(3000);
    for (const c of [...clientProcs, gateway]) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
}

async function mainRole(): Promise<void> {
  const tiersArg = arg('tiers');
  const sizes = arg('subscribers')
    ? [Number(arg('subscribers'))]
    : tiersArg
      ? tiersArg.split(',').map(Number)
      : run === 'full'
        ? [1_000, 5_000, 10_000, 15_000, 20_000]
        : [1_000, 5_000];
  const perUser = Number(arg('per-user') ?? 10);
  const userRate = Number(arg('user-rate') ?? 1);
  const fixedRate = arg('rate') !== undefined ? Number(arg('rate')) : undefined;
  const seconds = Number(arg('seconds') ?? (run === 'full' ? 30 : 10));
  const config = loadConfig();
  const topic = config.kafka.topics.processed;
  const log = (s: string) => console.log(`[live bench] ${s}`);
  const limit = openFilesLimit();
  const ports = ephemeralPorts();
  log(
    `${run} mode, tiers ${sizes.join(', ')}; open files: soft ${limit.soft}, hard ${limit.hard}; ephemeral ports ${ports.range} (${ports.count})`,
  );

  const notes: string[] = [];
  const tiers: Tier[] = [];
  for (const n of sizes) {
    const users = Math.max(1, Math.round(n / perUser));
    const clientProcs = Number(arg('client-procs') ?? Math.max(2, Math.ceil(n / 5_000)));
    const tier = { subscribers: n, users, rate: fixedRate ?? users * userRate, clientProcs };
    const perClientFds = Math.ceil(n / clientProcs) + FD_MARGIN;
    if (n + FD_MARGIN > limit.soft || perClientFds > limit.soft) {
      const why = `${n} subscribers skipped: the gateway needs about ${n + FD_MARGIN} open files and each of ${clientProcs} client processes ${perClientFds}; the limit here is ${limit.hard}. Raise the open-files hard limit (\`ulimit -Hn\`, which needs root or CAP_SYS_RESOURCE) to measure it.`;
      log(why);
      notes.push(why);
      continue;
    }
    if (n > ports.count) {
      const why = `${n} subscribers skipped: every connection from 127.0.0.1 to the gateway's port needs its own ephemeral port and ip_local_port_range ${ports.range} has ${ports.count}.`;
      log(why);
      notes.push(why);
      continue;
    }
    tiers.push(tier);
  }

  if (tiers.length === 0) throw new Error(`no tier can be measured here: ${notes.join(' ')}`);

  const kafka = new Kafka({ clientId: 'live-bench', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const token = await benchToken();
  const points: Point[] = [];
  try {
    for (const tier of tiers) points.push(await measureTier(tier, seconds, producer, topic, token, log));
  } finally {
    await producer.disconnect();
  }

  const kib = (bytes: number) => round(bytes / 1024);
  const fmt = (n: number) => n.toLocaleString('en-US');
  const describe = (p: Point) =>
    `${fmt(p.connected)} subscribers (${p.failed} failed to connect, ${fmt(p.connectMs)} ms to connect) over ${fmt(p.users)} users, ` +
    `${fmt(p.rate)} windows/s = ${fmt(Math.round((p.connected / p.users) * p.rate))} deliveries/s for ${seconds} s, ` +
    `${p.clientProcs} client processes: received ${fmt(p.received)} of ~${fmt(p.expected)}, dropped ${p.dropped}, ` +
    `p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms; RSS ${kib(p.rssPerSub)} KiB and heap ${kib(p.heapPerSub)} KiB per subscriber ` +
    `(${round(p.heapSlackBefore / 1048576, 1)} MiB of unused heap before); ` +
    `gateway CPU ${round(p.cpuPct, 1)} % of one core, client processes ${p.clientCpuPct.join(', ')} %`;
  const shape =
    fixedRate !== undefined ? `${fixedRate} windows/s in all` : `${perUser} per user, ${userRate} window/user/s`;
  const xUnit = `subscribers (${shape})`;
  // The headline figures: the 10,000 tier when measured, else the largest tier below it.
  const head =
    points.find((p) => p.subscribers === 10_000) ??
    [...points].reverse().find((p) => p.subscribers <= 10_000) ??
    points[0]!;
  const figures: Figure[] = [
    {
      name: 'live delivery latency p50 (Kafka append -> client)',
      figure: head.p50,
      unit: 'ms',
      better: 'lower',
      note: `headline figures: ${describe(head)}`,
    },
    {
      name: 'live delivery latency p99 (Kafka append -> client)',
      figure: head.p99,
      unit: 'ms',
      target: '< 200 ms',
      better: 'lower',
    },
    {
      name: 'live gateway RSS per subscriber',
      figure: kib(head.rssPerSub),
      unit: 'KiB',
      target: '< 10 KB',
      better: 'lower',
    },
    { name: 'live gateway heap per subscriber', figure: kib(head.heapPerSub), unit: 'KiB', better: 'lower' },
    { name: 'live gateway CPU', figure: round(head.cpuPct, 1), unit: '% of one core', better: 'lower' },
    ...points.flatMap((p): Figure[] => {
      const n = fmt(p.connected);
      return [
        {
          name: `live growth: delivery p50 at ${n} subscribers`,
          figure: p.p50,
          unit: 'ms',
          better: 'lower',
          series: 'live delivery latency p50 vs subscribers',
          x: p.connected,
          xUnit,
          note: `growth point: ${describe(p)}`,
        },
        {
          name: `live growth: delivery p99 at ${n} subscribers`,
          figure: p.p99,
          unit: 'ms',
          better: 'lower',
          series: 'live delivery latency p99 vs subscribers',
          x: p.connected,
          xUnit,
        },
        {
          name: `live growth: gateway RSS per subscriber at ${n} subscribers`,
          figure: kib(p.rssPerSub),
          unit: 'KiB',
          better: 'lower',
          series: 'live gateway RSS per subscriber (after GC)',
          x: p.connected,
          xUnit,
        },
        {
          name: `live growth: gateway heap per subscriber at ${n} subscribers`,
          figure: kib(p.heapPerSub),
          unit: 'KiB',
          better: 'lower',
          series: 'live gateway heap per subscriber (after GC)',
          x: p.connected,
          xUnit,
        },
      ];
    }),
  ];
  const file = writeResult({
    bench: 'live',
    mode: run,
    figures,
    notes: [
      `Each tier: a fresh gateway (production mode, token in connection_init) and fresh client processes, ${shape}, ${seconds} s measured after 1 s of warm-up. Latency is Kafka append (producer send time) to the client's receipt; memory is the gateway's growth from before the subscribers joined to after, both right after a forced full GC.`,
      'Heap per subscriber is the steadier memory figure. RSS grows less than the heap until the heap space the gateway committed at start-up but does not use (tens of MiB) has filled, so at the smaller tiers RSS per subscriber reads low, even near or below zero; by about 10,000 subscribers that space is used up and the two are close (RSS also holds the native memory of the sockets, which the heap does not).',
      `Gateway, client processes and Kafka share the machine; load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)}.`,
      ...notes,
    ],
  });
  log(`wrote ${file}`);
  log(`wrote ${renderGrowthSvg() ?? 'no growth plot'}`);
}

if (role === 'gateway') await gatewayRole();
else if (role === 'clients') await clientsRole();
else await mainRole();
