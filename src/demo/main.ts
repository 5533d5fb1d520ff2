/**
 * `npm run demo [-- --users 50 --rate 1 --minutes 10]`: simulated devices for demo-1 ... demo-N,
 * sending readings stamped with the current time through the gateway's `ingestReadings`, printing
 * what they send. Runs until Ctrl-C, or for --minutes. See src/demo/simulator.ts for the schedule.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { signToken } from '../auth/sign.js';
import { createSimulator } from './simulator.js';
import { createIngestClient } from './ingest.client.js';
import { createRawProducer } from '../kafka/raw.producer.js';

const USAGE = `usage: npm run demo -- [options]
  --users N            users demo-1 ... demo-N (default 50)
  --rate R             device ticks per second per user, up to 20 (default 1)
  --minutes M          stop after M minutes (default: until Ctrl-C)
  --url URL            the gateway's GraphQL endpoint (default http://HOST:PORT/graphql)
  --token JWT          bearer token (default: none in development; signed with AUTH_JWT_SECRET when set)
  --episode-every S    seconds between alert episodes across the fleet, 0 for none (default 90)
  --backfill-every S   seconds between late phone syncs, 0 for none (default 300)
  --bad-every S        seconds between readings the gateway refuses, 0 for none (default 30)
  --kafka-bad-every S  seconds between malformed messages straight to Kafka, 0 for none (default 120)
  --seed N             random seed (default 1)
  --history-days D     first send D days of past readings (a tick a minute), then stream live;
                       \`npm run lake:backfill\` then moves them into the lake (docs/lake.md)`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      users: { type: 'string', default: '50' },
      rate: { type: 'string', default: '1' },
      minutes: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      'episode-every': { type: 'string', default: '90' },
      'backfill-every': { type: 'string', default: '300' },
      'bad-every': { type: 'string', default: '30' },
      'kafka-bad-every': { type: 'string', default: '120' },
      seed: { type: 'string', default: '1' },
      'history-days': { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function number(name: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(n) || n < min)
    fail(`--${name}: expected a number of at least ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

const config = loadConfig();
const logger = createLogger(config, 'demo');
const users = number('users', values.users, 1);
if (!Number.isInteger(users)) fail(`--users: expected a whole number, got ${values.users}`);
const url =
  values.url ??
  `http://${config.gateway.host === '0.0.0.0' ? '127.0.0.1' : config.gateway.host}:${config.gateway.port}/graphql`;
const userIds = Array.from({ length: users }, (_, i) => `demo-${i + 1}`);

// A device token for the demo users when the gateway checks tokens and the secret is at hand.
let token = values.token;
if (!token && config.auth.jwtSecret) {
  token = await signToken(
    {
      sub: 'demo-simulator',
      roles: ['device'],
      users: userIds,
      expiresInSeconds: 24 * 3600,
      ...(config.auth.issuer ? { issuer: config.auth.issuer } : {}),
      ...(config.auth.audience ? { audience: config.auth.audience } : {}),
    },
    { secret: config.auth.jwtSecret },
  );
}

const rawBadEvery = number('kafka-bad-every', values['kafka-bad-every'], 0);
const raw = rawBadEvery > 0 ? createRawProducer(config.kafka, logger) : undefined;
const simulator = createSimulator({
  users,
  rate: number('rate', values.rate, 0.01),
  minutes: values.minutes === undefined ? undefined : number('minutes', values.minutes, 0.01),
  thresholds: config.flink.alerts,
  windowSeconds: config.flink.windowSeconds,
  episodeEverySeconds: number('episode-every', values['episode-every'], 0),
  backfillEverySeconds: number('backfill-every', values['backfill-every'], 0),
  badEverySeconds: number('bad-every', values['bad-every'], 0),
  rawBadEverySeconds: rawBadEvery,
  maxBatch: config.gateway.maxReadingsPerMutation,
  seed: number('seed', values.seed, 0),
  send: createIngestClient({ url, token }),
  sendRaw: raw?.send,
  print: (line) => console.log(line),
});

let stopping = false;
const shutdown = (): void => {
  if (stopping) process.exit(1);
  stopping = true;
  void simulator.stop();
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

console.log(`sending to ${url}`);
const historyDays = number('history-days', values['history-days'], 0);
if (historyDays > 0) {
  const sent = await simulator.history(historyDays);
  console.log(`history: ${sent} readings over ${historyDays} days sent; run \`npm run lake:backfill\` to tier them`);
}
await simulator.start();
await simulator.done;
await raw?.stop();
const s = simulator.stats();
console.log(
  `done: ${s.ticks} ticks, ${s.sent} readings sent, ${s.accepted} accepted, ${s.rejected} rejected, ` +
    `${s.episodes} episodes, ${s.backfills} late syncs, ${s.rawBad} malformed to Kafka, ${s.failedSends} failed sends`,
);
process.exit(s.sent > 0 && s.failedSends * 2 < s.ticks + 1 ? 0 : 1);
