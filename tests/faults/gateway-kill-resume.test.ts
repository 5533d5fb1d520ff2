/**
 * A gateway process SIGKILLed under a subscribed client, and started again on the same port while
 * windows keep being published.
 *
 * The client is the official graphql-ws client with retries. It keeps the subscription's variables
 * in one object and sets `after` to the cursor of every window it receives; graphql-ws sends that
 * object again when it reconnects, so the retry resubscribes from the last window it has.
 *
 * Pass: every window published for the user after the client subscribed, read from the topic
 * itself, reaches the client exactly once and in order, including those published while no
 * gateway ran.
 */
import type { Client } from 'graphql-ws';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, createTopics, deleteTopics, privateTopics, testKafka } from '../helpers/kafka.js';
import {
  RESUMABLE_WINDOWS_QUERY,
  connectedProducer,
  produceJson,
  retryingWsClient,
  windowV1,
  type ResumableWindowData,
} from '../helpers/live.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { freePort, startChild, type Child } from '../helpers/faults.js';

const id = uniqueId('gw-kill');
const topics = privateTopics(id);
const env = { ...topics, GRAPHIQL: 'false', AUTH_MODE: 'development', RATE_LIMIT_PER_SECOND: '0' };
const user = `${id}-u`;
const BASE = Date.UTC(2025, 2, 1);

describe('gateway SIGKILLed under a resuming subscriber', () => {
  const kafka = testKafka();
  let port: number;
  let gateway: Child | undefined;
  let client: Client | undefined;
  let producer: Producer | undefined;

  beforeAll(async () => {
    await createTopics(kafka, Object.values(topics), 3);
    port = await freePort();
    gateway = await startChild({ name: 'gateway-1', script: 'src/gateway/main.ts', port, env });
    producer = await connectedProducer(kafka);
  }, 90_000);

  afterAll(async () => {
    await client?.dispose();
    await gateway?.kill('SIGKILL');
    await producer?.disconnect();
    await deleteTopics(kafka, Object.values(topics));
  }, 60_000);

  it('delivers every window published meanwhile exactly once after the retry resubscribes with its last cursor', async () => {
    let connections = 0;
    client = retryingWsClient(`ws://127.0.0.1:${port}/graphql`, () => (connections += 1));
    const received: { windowStart: string; cursor: string }[] = [];
    const errors: unknown[] = [];
    // One payload object for the whole life of the subscription: graphql-ws serialises it again on
    // every reconnect, so the cursor set here is what the retry resumes from.
    const variables: { userId: string; after?: string } = { userId: user };
    client.subscribe<ResumableWindowData>(
      { query: RESUMABLE_WINDOWS_QUERY, variables },
      {
        next: (r) => {
          if (r.errors) errors.push(r.errors);
          if (!r.data) return;
          received.push({ windowStart: r.data.metricWindows.windowStart, cursor: r.data.metricWindows.cursor });
          variables.after = r.data.metricWindows.cursor;
        },
        error: (e) => errors.push(e),
        complete: () => undefined,
      },
    );

    let seq = 0;
    const publish = () =>
      produceJson(producer!, topics.KAFKA_PROCESSED_TOPIC, [
        windowV1(user, 'heart_rate', BASE + seq++ * 60_000, [60 + (seq % 40)]),
      ]);
    // The subscription is registered once a window published after it arrives.
    await waitFor(
      async () => {
        await publish();
        return received.length > 0;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the first window' },
    );
    const firstStart = received[0]!.windowStart;

    // A steady stream of windows through the kill, the gap and the restart.
    let publishing = true;
    const stream = (async () => {
      while (publishing) {
        await publish();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitFor(() => received.length >= 20, { timeoutMs: 30_000, what: '20 windows before the kill' });
    const killed = await gateway!.kill('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const atKill = received.length;
    const seqAtKill = seq;
    await new Promise((r) => setTimeout(r, 2_000)); // windows published while no gateway runs
    gateway = await startChild({ name: 'gateway-2', script: 'src/gateway/main.ts', port, env });
    // The test means something only if windows were published while no gateway ran.
    expect(seq - seqAtKill).toBeGreaterThan(10);
    await waitFor(() => received.length >= atKill + 20, { timeoutMs: 60_000, what: '20 windows after the restart' });
    publishing = false;
    await stream;

    // What the topic holds for the user from the first window received on, in order.
    const fromStart = [0, 1, 2].map((partition) => ({ partition, offset: '0' }));
    const onTopic = (
      await collect(
        kafka,
        topics.KAFKA_PROCESSED_TOPIC,
        fromStart,
        () => true,
        (all) => all.length >= seq,
      )
    )
      .map((m) => (JSON.parse(m.value ?? '{}') as { windowStart: string }).windowStart)
      .sort();
    const expected = onTopic.slice(onTopic.indexOf(firstStart));
    await waitFor(() => received.length >= expected.length, {
      timeoutMs: 30_000,
      what: `all ${expected.length} windows (have ${received.length})`,
    });
    await new Promise((r) => setTimeout(r, 500)); // room for a wrong extra delivery to show
    expect(errors).toEqual([]);
    expect(connections).toBeGreaterThanOrEqual(2);
    expect(received.map((w) => w.windowStart)).toEqual(expected);
  }, 240_000);
});
