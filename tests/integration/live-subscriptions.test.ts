/**
 * Subscriptions against the real Kafka output topics, without Flink: the test writes metric window
 * v1 / alert v1 straight onto fitbit_processed / fitbit_alerts and watches official graphql-ws
 * clients receive them through a real gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Kafka, Producer } from 'kafkajs';
import {
  ALERTS_QUERY,
  WINDOWS_QUERY,
  collectSubscription,
  connectedProducer,
  produceJson,
  startLiveGateway,
  testProducerKafka,
  windowV1,
  wsClient,
  type AlertData,
  type LiveGateway,
  type WindowData,
} from '../helpers/live.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const PROCESSED = 'fitbit_processed';
const ALERTS = 'fitbit_alerts';
const BUFFER = 32;

describe('live subscriptions over graphql-ws', () => {
  let gw: LiveGateway;
  let kafka: Kafka;
  let producer: Producer;
  const clients: Client[] = [];
  const client = () => {
    const c = wsClient(gw.wsUrl);
    clients.push(c);
    return c;
  };
  const live = () => gw.gateway.services.live.stats();
  /** Waits until the gateway has registered `n` more window/alert subscriptions than `base`. */
  const subscribed = (what: 'windowSubscribers' | 'alertSubscribers', n: number) =>
    waitFor(() => live()[what] >= n, { timeoutMs: 10_000, what: `${n} ${what}` });

  beforeAll(async () => {
    gw = await startLiveGateway({ LIVE_BUFFER_SIZE: String(BUFFER), GRAPHQL_MAX_ALIASES: '0' }); // the slow-client case aliases 300 fields
    kafka = testProducerKafka();
    producer = await connectedProducer(kafka);
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await producer?.disconnect();
    await gw?.stop();
  });

  it('delivers each user only their own windows, and honours the metric filter', async () => {
    const [alice, bob] = [uniqueId('live-a'), uniqueId('live-b')];
    const c = client();
    const aliceAll = collectSubscription<WindowData>(c, WINDOWS_QUERY, { userId: alice });
    const aliceHr = collectSubscription<WindowData>(c, WINDOWS_QUERY, { userId: alice, metrics: ['HEART_RATE'] });
    const bobAll = collectSubscription<WindowData>(client(), WINDOWS_QUERY, { userId: bob });
    await subscribed('windowSubscribers', 3);

    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const a1 = windowV1(alice, 'heart_rate', t0, [70, 80]);
    const a2 = windowV1(alice, 'steps', t0, [10, 5, 7]);
    const b1 = windowV1(bob, 'steps', t0, [1]);
    // Last of each user: once it arrived, everything produced before it for that user has too.
    const a3 = windowV1(alice, 'heart_rate', t0 + 60_000, [90]);
    const b2 = windowV1(bob, 'heart_rate', t0 + 60_000, [60]);
    await produceJson(producer, PROCESSED, [a1, a2, b1, a3, b2]);

    await waitFor(() => aliceAll.data.length >= 3 && aliceHr.data.length >= 2 && bobAll.data.length >= 2, {
      timeoutMs: 15_000,
      what: 'windows delivered',
    });
    expect(aliceAll.data.map((d) => d.metricWindows)).toEqual(
      [a1, a2, a3].map((w) => ({ ...w, metric: w.metric.toUpperCase(), dropped: 0 })),
    );
    expect(aliceHr.data.map((d) => d.metricWindows.windowStart)).toEqual([a1.windowStart, a3.windowStart]);
    expect(aliceHr.data.every((d) => d.metricWindows.metric === 'HEART_RATE')).toBe(true);
    expect(bobAll.data.map((d) => [d.metricWindows.userId, d.metricWindows.metric])).toEqual([
      [bob, 'STEPS'],
      [bob, 'HEART_RATE'],
    ]);
    for (const s of [aliceAll, aliceHr, bobAll]) s.unsubscribe();
  });

  it('delivers a repeated window or alert once, and an updated window again', async () => {
    const user = uniqueId('live-dup');
    const c = client();
    const windows = collectSubscription<WindowData>(c, WINDOWS_QUERY, { userId: user });
    const alerts = collectSubscription<AlertData>(c, ALERTS_QUERY, { userId: user });
    const before = live();
    await waitFor(() => live().windowSubscribers >= 1 && live().alertSubscribers >= 1, {
      timeoutMs: 10_000,
      what: 'subscribed',
    });

    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
    const w = windowV1(user, 'spo2', t0, [97, 98]);
    const updated = windowV1(user, 'spo2', t0, [97, 98, 99]);
    const last = windowV1(user, 'spo2', t0 + 60_000, [96]);
    const alert = {
      alertId: `low_spo2:${user}:${w.windowStart}`,
      userId: user,
      kind: 'low_spo2',
      time: w.windowStart,
      message: 'SpO2 fell',
      details: { spo2Min: 85 },
    };
    const lastAlert = { ...alert, alertId: `low_spo2:${user}:${last.windowStart}`, time: last.windowStart };
    // The same records twice (a Flink restart repeats what it wrote since its last checkpoint).
    await produceJson(producer, PROCESSED, [w, w]);
    await produceJson(producer, ALERTS, [alert, alert]);
    await produceJson(producer, PROCESSED, [w, updated, updated, last]);
    await produceJson(producer, ALERTS, [alert, lastAlert, lastAlert]);

    await waitFor(() => windows.data.some((d) => d.metricWindows.windowStart === last.windowStart), {
      timeoutMs: 15_000,
      what: 'last window',
    });
    await waitFor(() => alerts.data.some((d) => d.alerts.alertId === lastAlert.alertId), {
      timeoutMs: 15_000,
      what: 'last alert',
    });
    expect(windows.data.map((d) => [d.metricWindows.windowStart, d.metricWindows.count])).toEqual([
      [w.windowStart, 2],
      [w.windowStart, 3],
      [last.windowStart, 1],
    ]);
    expect(alerts.data.map((d) => d.alerts.alertId)).toEqual([alert.alertId, lastAlert.alertId]);
    expect(alerts.data[0]?.alerts).toMatchObject({
      userId: user,
      kind: 'low_spo2',
      time: alert.time,
      details: { spo2Min: 85 },
      dropped: 0,
    });
    expect(live().duplicates - before.duplicates).toBeGreaterThanOrEqual(5);
    windows.unsubscribe();
    alerts.unsubscribe();
  });

  it('delivers alerts to a subscriber of that user and to a subscriber of everyone', async () => {
    const [alice, carol] = [uniqueId('live-al'), uniqueId('live-ac')];
    const c = client();
    const mine = collectSubscription<AlertData>(c, ALERTS_QUERY, { userId: alice });
    const everyone = collectSubscription<AlertData>(c, ALERTS_QUERY, {});
    await subscribed('alertSubscribers', 2);

    const t = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000).toISOString();
    const a = {
      alertId: `elevated_resting_heart_rate:${alice}:${t}`,
      userId: alice,
      kind: 'elevated_resting_heart_rate',
      time: t,
      message: 'hr high',
    };
    const b = {
      alertId: `elevated_resting_heart_rate:${carol}:${t}`,
      userId: carol,
      kind: 'elevated_resting_heart_rate',
      time: t,
      message: 'hr high',
    };
    await produceJson(producer, ALERTS, [a, b]);

    const ours = () => everyone.data.map((d) => d.alerts.alertId).filter((id) => id === a.alertId || id === b.alertId);
    await waitFor(() => ours().length >= 2 && mine.data.length >= 1, { timeoutMs: 15_000, what: 'alerts delivered' });
    expect(ours().sort()).toEqual([a.alertId, b.alertId].sort());
    expect(mine.data.map((d) => d.alerts.alertId)).toEqual([a.alertId]);
    expect(mine.data[0]?.alerts.details).toBeNull();
    mine.unsubscribe();
    everyone.unsubscribe();
  });

  it('skips and counts malformed events without disturbing delivery', async () => {
    const user = uniqueId('live-bad');
    const s = collectSubscription<WindowData>(client(), WINDOWS_QUERY, { userId: user });
    await subscribed('windowSubscribers', 1);
    const before = live().malformed;
    const good = windowV1(user, 'steps', Date.UTC(2026, 0, 1), [3]);
    await producer.send({
      topic: PROCESSED,
      messages: [
        { key: user, value: 'not json' },
        { key: user, value: JSON.stringify({ ...good, metric: 'HEART_RATE' }) },
        { key: user, value: JSON.stringify({ ...good, windowStart: 'yesterday' }) },
        { key: user, value: JSON.stringify(good) },
      ],
    });
    await waitFor(() => s.data.length >= 1, { timeoutMs: 15_000, what: 'good window' });
    expect(s.data.map((d) => d.metricWindows.windowStart)).toEqual([good.windowStart]);
    expect(live().malformed - before).toBe(3);
    s.unsubscribe();
  });

  it('refuses a malformed userId with a coded error', async () => {
    const s = collectSubscription<WindowData>(client(), WINDOWS_QUERY, { userId: 'no spaces allowed' });
    await waitFor(() => s.completed || s.error !== undefined || s.results.length > 0, {
      timeoutMs: 10_000,
      what: 'an answer',
    });
    const errors = (s.results[0]?.errors ?? (Array.isArray(s.error) ? s.error : [])) as {
      extensions?: { code?: string };
    }[];
    expect(errors[0]?.extensions?.code).toBe('INVALID_USER_ID');
  });

  it('releases subscribers on unsubscribe and on disconnect', async () => {
    await waitFor(() => live().subscribers === 0, {
      timeoutMs: 10_000,
      what: 'no subscribers left from earlier tests',
    });
    const user = uniqueId('live-rel');
    const c1 = wsClient(gw.wsUrl);
    const c2 = wsClient(gw.wsUrl);
    const s1 = collectSubscription<WindowData>(c1, WINDOWS_QUERY, { userId: user });
    collectSubscription<AlertData>(c1, ALERTS_QUERY, {});
    collectSubscription<WindowData>(c2, WINDOWS_QUERY, { userId: user });
    await waitFor(() => live().subscribers === 3, { timeoutMs: 10_000, what: '3 subscribers' });
    expect(live().users).toBe(1);

    s1.unsubscribe();
    await waitFor(() => live().subscribers === 2, { timeoutMs: 10_000, what: 'unsubscribe released' });
    await c1.dispose(); // closes the socket with one subscription still open
    await waitFor(() => live().subscribers === 1, { timeoutMs: 10_000, what: 'disconnect released' });
    await c2.dispose();
    await waitFor(() => live().subscribers === 0 && live().users === 0, {
      timeoutMs: 10_000,
      what: 'zero subscribers',
    });
  });

  it('a client that does not read neither holds back the others nor grows the buffer', async () => {
    const user = uniqueId('live-slow');
    const fast = collectSubscription<WindowData>(client(), WINDOWS_QUERY, { userId: user });

    // A raw graphql-ws peer that subscribes with a deliberately heavy selection (aliases make each
    // message ~12 KB, so the socket buffers fill fast) and then stops reading its socket.
    const heavy = Array.from({ length: 300 }, (_, i) => `f${i}: windowStart`).join(' ');
    const slow = new WebSocket(gw.wsUrl, 'graphql-transport-ws');
    const acked = new Promise<void>((resolve, reject) => {
      slow.on('message', (raw) => {
        if ((JSON.parse(String(raw)) as { type: string }).type === 'connection_ack') resolve();
      });
      slow.once('error', reject);
    });
    await new Promise<void>((resolve) => slow.once('open', () => resolve()));
    slow.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await acked;
    slow.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: {
          query: `subscription($u: ID!) { metricWindows(userId: $u) { windowStart dropped ${heavy} } }`,
          variables: { u: user },
        },
      }),
    );
    await waitFor(() => live().windowSubscribers >= 2, { timeoutMs: 10_000, what: 'both subscribed' });
    slow.pause(); // stops reading: the kernel buffers fill, then the gateway's queue does

    const total = 3000;
    const t0 = Date.UTC(2025, 0, 1);
    const events = Array.from({ length: total }, (_, i) =>
      windowV1(user, 'heart_rate', t0 + i * 60_000, [60 + (i % 50)]),
    );
    const started = Date.now();
    for (let i = 0; i < total; i += 500) await produceJson(producer, PROCESSED, events.slice(i, i + 500));

    await waitFor(() => fast.data.length >= total, { timeoutMs: 20_000, what: `fast subscriber got all ${total}` });
    const fastMs = Date.now() - started;
    expect(fast.data.map((d) => d.metricWindows.windowStart)).toEqual(events.map((e) => e.windowStart));
    expect(fast.data.every((d) => d.metricWindows.dropped === 0)).toBe(true);
    expect(fastMs).toBeLessThan(15_000);

    const stats = live();
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.maxBuffered).toBeLessThanOrEqual(BUFFER);

    // When the slow client reads again it learns that it missed events.
    let sawDropped = 0;
    let lastStart = '';
    slow.on('message', (raw) => {
      const msg = JSON.parse(String(raw)) as { type: string; payload?: { data?: WindowData } };
      const w = msg.payload?.data?.metricWindows;
      if (msg.type === 'next' && w) {
        sawDropped += w.dropped;
        lastStart = w.windowStart;
      }
    });
    slow.resume();
    await waitFor(() => lastStart === events[total - 1]?.windowStart, {
      timeoutMs: 20_000,
      what: 'slow client catches up to the end',
    });
    expect(sawDropped).toBeGreaterThan(0);
    expect(sawDropped).toBe(stats.dropped);
    slow.close();
    fast.unsubscribe();
    await waitFor(() => live().subscribers === 0, { timeoutMs: 10_000, what: 'released' });
  });

  it('on stop completes subscriptions and closes sockets with 1001', async () => {
    const own = await startLiveGateway();
    const c = wsClient(own.wsUrl);
    const s = collectSubscription<WindowData>(c, WINDOWS_QUERY, { userId: uniqueId('live-stop') });
    await waitFor(() => own.gateway.services.live.stats().subscribers === 1, { timeoutMs: 10_000, what: 'subscribed' });
    const raw = new WebSocket(own.wsUrl, 'graphql-transport-ws');
    await new Promise<void>((resolve) => raw.once('open', () => resolve()));
    const closeCode = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));

    await own.stop();
    expect(s.completed).toBe(true);
    expect(s.error).toBeUndefined();
    expect(await closeCode).toBe(1001);
    expect(own.gateway.services.live.stats().subscribers).toBe(0);
    await c.dispose();
  });
});
