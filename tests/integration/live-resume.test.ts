/**
 * Resumable subscriptions and the stored history, against real Kafka and Postgres without Flink:
 * the test writes metric window v1 / alert v1 onto its own output topics, a real gateway serves
 * graphql-ws clients, and the worker's history writer stores the topics in Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import type { Kafka, Producer } from 'kafkajs';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createKafka } from '../../src/kafka/client.js';
import { createPool, type Pool } from '../../src/timescale/pool.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createHistoryWriter, historyGroupId, type HistoryWriter } from '../../src/consumer/history.writer.js';
import {
  RESUMABLE_ALERTS_QUERY,
  RESUMABLE_WINDOWS_QUERY,
  collectSubscription,
  connectedProducer,
  produceJson,
  startLiveGateway,
  testProducerKafka,
  windowV1,
  wsClient,
  type Collected,
  type LiveGateway,
  type ResumableAlertData,
  type ResumableWindowData,
} from '../helpers/live.js';
import { createTopics, deleteTopics, privateTopics } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const id = uniqueId('resume');
const topics = privateTopics(id);
const env = { ...topics, KAFKA_CONSUMER_GROUP: `${id}-writer` };
const T0 = Date.UTC(2026, 5, 1, 8, 0);
const minute = (n: number) => new Date(T0 + n * 60_000).toISOString();

const WINDOWS = `query($u: ID!, $f: DateTime!, $t: DateTime!, $m: [Metric!]) {
  windows(userId: $u, from: $f, to: $t, metrics: $m) { userId metric windowStart sum cursor }
}`;
const ALERTS = `query($u: ID, $f: DateTime!, $t: DateTime!) {
  alerts(userId: $u, from: $f, to: $t) { alertId userId time cursor }
}`;

describe('resumable subscriptions and stored history', () => {
  let kafka: Kafka;
  let producer: Producer;
  let gw: LiveGateway | undefined;
  let pool: Pool;
  let writer: HistoryWriter | undefined;
  const clients: Client[] = [];
  const client = () => {
    const c = wsClient(gw!.wsUrl);
    clients.push(c);
    return c;
  };
  const windowsOf = (c: Collected<ResumableWindowData>) => c.data.map((d) => d.metricWindows.windowStart);
  const subscribe = (userId: string, after?: string) =>
    collectSubscription<ResumableWindowData>(client(), RESUMABLE_WINDOWS_QUERY, { userId, after });
  const gql = async <T>(query: string, variables: Record<string, unknown>) => {
    const res = await fetch(gw!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  };
  /**
   * Subscribes without a cursor and sends the user's windows (minute 0, 1, ...) until one arrives:
   * a subscription takes events published after it registered, which the test cannot observe.
   */
  const firstCursor = async (user: string): Promise<{ cursor: string; sent: number }> => {
    const sub = subscribe(user);
    let sent = 0;
    await waitFor(
      async () => {
        await produceJson(producer, env.KAFKA_PROCESSED_TOPIC, [
          windowV1(user, 'heart_rate', T0 + sent++ * 60_000, [70]),
        ]);
        return sub.data.length >= 1;
      },
      { what: `a window of ${user}`, intervalMs: 300 },
    );
    sub.unsubscribe();
    return { cursor: sub.data[0]!.metricWindows.cursor, sent };
  };
  /** A refused subscription: graphql-ws sends the result with its errors, then completes. */
  const errorCode = (c: Collected<unknown>) => c.results[0]?.errors?.[0]?.extensions?.['code'];
  const refused = (c: Collected<unknown>) => c.completed && c.results.length > 0;

  beforeAll(async () => {
    kafka = testProducerKafka();
    await createTopics(kafka, Object.values(topics), 3);
    producer = await connectedProducer(kafka);
    const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'warn' });
    const logger = createLogger(config, 'history-test');
    pool = createPool(config.postgres, logger, { max: 2 });
    await migrate(pool);
    writer = createHistoryWriter({ config, logger, kafka: createKafka(config.kafka, logger), pool });
    await writer.start();
    gw = await startLiveGateway(env);
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await gw?.stop();
    await writer?.stop();
    await pool?.end();
    await producer?.disconnect();
    await deleteTopics(kafka, Object.values(topics));
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([historyGroupId(loadConfig({ ...process.env, ...env }))]).catch(() => undefined);
    await admin.disconnect();
  }, 60_000);

  it('resumes after a cursor: the windows missed, once each, then live ones, on the same gateway and on a restarted one', async () => {
    const user = uniqueId('resume-u');
    const first = subscribe(user);
    await waitFor(() => gw!.gateway.services.live.stats().windowSubscribers >= 1, { what: 'subscribed' });
    await produceJson(producer, env.KAFKA_PROCESSED_TOPIC, [windowV1(user, 'heart_rate', T0, [70])]);
    await waitFor(() => first.data.length >= 1, { what: 'window 1' });
    const cursor1 = first.data[0]!.metricWindows.cursor;
    first.unsubscribe();

    // While nobody listens: windows 2 and 3 (3 twice, as the job's at-least-once sink may write it).
    const w3 = windowV1(user, 'heart_rate', T0 + 120_000, [72]);
    await produceJson(producer, env.KAFKA_PROCESSED_TOPIC, [windowV1(user, 'heart_rate', T0 + 60_000, [71]), w3, w3]);
    await waitFor(() => gw!.gateway.services.live.stats().windowsReceived >= 4, { what: 'windows read' });

    const resumed = subscribe(user, cursor1);
    await waitFor(() => resumed.data.length >= 2, { what: 'the replay' });
    await produceJson(producer, env.KAFKA_PROCESSED_TOPIC, [windowV1(user, 'heart_rate', T0 + 180_000, [73])]);
    await waitFor(() => resumed.data.length >= 3, { what: 'the live window after the replay' });
    await new Promise((r) => setTimeout(r, 300)); // room for a wrong extra delivery to show
    expect(windowsOf(resumed)).toEqual([minute(1), minute(2), minute(3)]);
    const cursor4 = resumed.data[2]!.metricWindows.cursor;
    resumed.unsubscribe();

    // A new gateway process reads the topics' recent events back on start: the cursor still works.
    for (const c of clients.splice(0)) await c.dispose();
    await gw!.stop();
    await produceJson(producer, env.KAFKA_PROCESSED_TOPIC, [windowV1(user, 'heart_rate', T0 + 240_000, [74])]);
    gw = await startLiveGateway(env);
    const afterRestart = subscribe(user, cursor4);
    await waitFor(() => afterRestart.data.length >= 1, { what: 'the window published while no gateway ran' });
    await produceJson(producer, env.KAFKA_PROCESSED_TOPIC, [windowV1(user, 'heart_rate', T0 + 300_000, [75])]);
    await waitFor(() => afterRestart.data.length >= 2, { what: 'live after the restart' });
    await new Promise((r) => setTimeout(r, 300));
    expect(windowsOf(afterRestart)).toEqual([minute(4), minute(5)]);
    afterRestart.unsubscribe();
  }, 90_000);

  it('starts with the last windows held when asked (replayLast), and refuses a bad count', async () => {
    const user = uniqueId('resume-last');
    const { sent } = await firstCursor(user);
    const c = client();
    const QUERY = `subscription($u: ID!, $n: Int, $after: String) { metricWindows(userId: $u, replayLast: $n, after: $after) { windowStart cursor } }`;
    // firstCursor returns once the first window is back; the others it sent may still be on their
    // way to the gateway. "The last two held" is only the last two sent once the gateway holds all.
    const held = collectSubscription<ResumableWindowData>(c, QUERY, { u: user, n: sent });
    await waitFor(() => held.data.length >= sent, { what: 'every window sent, held by the gateway' });
    held.unsubscribe();
    const last2 = collectSubscription<ResumableWindowData>(c, QUERY, { u: user, n: 2 });
    await waitFor(() => last2.data.length >= Math.min(2, sent), { what: 'the last two windows' });
    expect(windowsOf(last2)).toEqual([minute(sent - 2), minute(sent - 1)].slice(-Math.min(2, sent)));
    last2.unsubscribe();
    const tooMany = collectSubscription<ResumableWindowData>(c, QUERY, { u: user, n: 5000 });
    const both = collectSubscription<ResumableWindowData>(c, QUERY, { u: user, n: 1, after: 'x' });
    await waitFor(() => refused(tooMany) && refused(both), { what: 'the refusals' });
    expect([errorCode(tooMany), errorCode(both)]).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
  });

  it('refuses a cursor that is not ours, or not of this subscription, with INVALID_CURSOR', async () => {
    const [alice, bob] = [uniqueId('resume-a'), uniqueId('resume-b')];
    const { cursor } = await firstCursor(alice);

    const [payload, mac] = cursor.split('.') as [string, string];
    const tampered = `${Buffer.from(
      Buffer.from(payload, 'base64url')
        .toString()
        // Another offset, whatever the real one is (replacing it by 0 changed nothing when it was 0).
        .replace(/(\d+)\]\]\]$/, (_, n: string) => `${Number(n) + 1}]]]`),
    ).toString('base64url')}.${mac}`;
    const cases = [
      subscribe(alice, tampered),
      subscribe(alice, 'not-a-cursor'),
      subscribe(bob, cursor),
      collectSubscription<ResumableAlertData>(client(), RESUMABLE_ALERTS_QUERY, { userId: alice, after: cursor }),
    ];
    await waitFor(() => cases.every(refused), { what: 'every case refused' });
    expect(cases.map(errorCode)).toEqual(['INVALID_CURSOR', 'INVALID_CURSOR', 'INVALID_CURSOR', 'INVALID_CURSOR']);
  });

  it('stores what the job published once each, reads it back with cursors, and serves an old cursor from the store', async () => {
    const user = uniqueId('resume-h');
    const windows = [0, 1, 2, 3, 4, 5].map((n) =>
      windowV1(user, n % 2 ? 'steps' : 'heart_rate', T0 + n * 60_000, [60 + n]),
    );
    const alert = {
      alertId: `low_spo2:${user}:${minute(2)}`,
      userId: user,
      kind: 'low_spo2',
      time: minute(2),
      message: 'SpO2 fell below 90 %',
      details: { spo2Min: 85 },
    };
    // Window 2 and the alert twice: stored and returned once.
    await produceJson(producer, env.KAFKA_PROCESSED_TOPIC, [...windows.slice(0, 3), windows[2]!, ...windows.slice(3)]);
    await produceJson(producer, env.KAFKA_ALERTS_TOPIC, [alert, alert]);

    const range = { u: user, f: minute(0), t: minute(10) };
    const stored = await waitFor(
      async () => {
        const r = await gql<{ windows: { windowStart: string; metric: string; sum: number; cursor: string }[] }>(
          WINDOWS,
          range,
        );
        return r.data && r.data.windows.length >= 6 ? r.data.windows : undefined;
      },
      { what: 'six stored windows', timeoutMs: 30_000 },
    );
    expect(stored.map((w) => [w.windowStart, w.metric, w.sum])).toEqual(
      windows.map((w) => [w.windowStart, w.metric.toUpperCase(), w.sum]),
    );
    const onlySteps = await gql<{ windows: { metric: string }[] }>(WINDOWS, { ...range, m: ['STEPS'] });
    expect(onlySteps.data?.windows.map((w) => w.metric)).toEqual(['STEPS', 'STEPS', 'STEPS']);
    const alerts = await waitFor(
      async () => {
        const r = await gql<{ alerts: { alertId: string }[] }>(ALERTS, range);
        return r.data && r.data.alerts.length >= 1 ? r.data : undefined;
      },
      { what: 'the stored alert' },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await gql<{ alerts: { alertId: string }[] }>(ALERTS, range)).data?.alerts.map((a) => a.alertId)).toEqual([
      alert.alertId,
    ]);
    expect(alerts.alerts).toHaveLength(1);

    // A stored window's cursor resumes a subscription like a delivered one.
    const fromStored = subscribe(user, stored[3]!.cursor);
    await waitFor(() => fromStored.data.length >= 2, { what: 'the replay after a stored cursor' });
    await new Promise((r) => setTimeout(r, 300));
    expect(windowsOf(fromStored)).toEqual([minute(4), minute(5)]);
    fromStored.unsubscribe();

    // A gateway whose replay log holds 1 event per partition: the cursor is older than its log,
    // and the history store serves what the log no longer holds.
    const small = await startLiveGateway({ ...env, LIVE_REPLAY_PER_PARTITION: '1' });
    try {
      const c = wsClient(small.wsUrl);
      clients.push(c);
      const old = collectSubscription<ResumableWindowData>(c, RESUMABLE_WINDOWS_QUERY, {
        userId: user,
        after: stored[0]!.cursor,
      });
      await waitFor(() => old.data.length >= 5 || refused(old), {
        what: `the replay from the store (got ${JSON.stringify(old.data)})`,
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(errorCode(old)).toBeUndefined();
      expect(windowsOf(old)).toEqual([minute(1), minute(2), minute(3), minute(4), minute(5)]);
      old.unsubscribe();
    } finally {
      await small.stop();
    }
  }, 90_000);

  it('answers CURSOR_EXPIRED when neither the log nor the store reaches back to the cursor', async () => {
    const user = uniqueId('resume-x');
    const { cursor, sent } = await firstCursor(user);
    await produceJson(
      producer,
      env.KAFKA_PROCESSED_TOPIC,
      [1, 2, 3].map((n) => windowV1(user, 'heart_rate', T0 + (sent + n) * 60_000, [70])),
    );
    // Another consumer group for the history: this gateway sees a store that has kept nothing.
    const small = await startLiveGateway({
      ...env,
      LIVE_REPLAY_PER_PARTITION: '1',
      KAFKA_CONSUMER_GROUP: `${id}-none`,
    });
    try {
      const c = wsClient(small.wsUrl);
      clients.push(c);
      const old = collectSubscription<ResumableWindowData>(c, RESUMABLE_WINDOWS_QUERY, { userId: user, after: cursor });
      await waitFor(() => refused(old), { what: 'the refusal' });
      expect(errorCode(old)).toBe('CURSOR_EXPIRED');
    } finally {
      await small.stop();
    }
  }, 60_000);
});
