/**
 * A gateway process (`node --import tsx src/gateway/main.ts`, private topics) stopped with SIGTERM
 * and started again on the same port while four HTTP clients keep sending mutations and queries
 * and a graphql-ws client holds a subscription.
 *
 * Pass: no request hangs (each has a 10 s bound and none reaches it); every failure is clean
 * (connection refused or reset while no process listens, or a GraphQL error with a code, never
 * INTERNAL_SERVER_ERROR); every reading a mutation reported accepted is on the topic; the old
 * process exits 0; the graphql-ws client (retryAttempts) reconnects by itself, and a subscriber that
 * subscribes again when the server completes its subscription at shutdown receives events from the
 * new process.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, testKafka } from '../helpers/kafka.js';
import { connectedProducer, produceJson, windowV1, WINDOWS_QUERY, type WindowData } from '../helpers/live.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { freePort, networkCause, startChild, tally, type Child, type Outcome } from '../helpers/faults.js';

const id = uniqueId('gw-restart');
const topics = {
  KAFKA_TOPIC: `${id}-ingestion`,
  KAFKA_DLQ_TOPIC: `${id}-dlq`,
  KAFKA_PROCESSED_TOPIC: `${id}-processed`,
  KAFKA_ALERTS_TOPIC: `${id}-alerts`,
};
const env = {
  ...topics,
  GRAPHIQL: 'false',
  AUTH_MODE: 'development',
  RATE_LIMIT_PER_SECOND: '0',
  INGEST_ACK_TIMEOUT_MS: '5000',
};
const userPrefix = `${id}-u`;
const liveUser = `${id}-live`;
const REQUEST_BOUND_MS = 10_000;
/** Failures that mean "nobody listens right now" or "the server closed this connection": clean for a client. */
const CLEAN_NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

const INGEST = 'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted}}';
const SERIES =
  'query($u:ID!,$f:DateTime!,$t:DateTime!){series(userId:$u,metric:HEART_RATE,from:$f,to:$t,bucket:HOUR){time count}}';

interface Sent {
  outcome: Outcome;
  at: number;
  eventIds: string[];
}

describe('gateway restarted under load', () => {
  const kafka = testKafka();
  let port: number;
  let gateway: Child | undefined;
  let client: Client | undefined;
  let producer: Producer | undefined;

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: Object.values(topics).map((topic) => ({
          topic,
          numPartitions: topic === topics.KAFKA_TOPIC ? 6 : 1,
          replicationFactor: 1,
        })),
      });
    } finally {
      await admin.disconnect();
    }
    port = await freePort();
    gateway = await startChild({ name: 'gateway-1', script: 'src/gateway/main.ts', port, env });
    producer = await connectedProducer(kafka);
  }, 90_000);

  afterAll(async () => {
    await client?.dispose();
    await gateway?.kill('SIGKILL');
    await producer?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  }, 60_000);

  it('gives clients clean errors, never a hang, and lets subscriptions come back', async () => {
    const url = `http://127.0.0.1:${port}/graphql`;
    // The subscriber: the client reconnects by itself (retryAttempts); a subscription the server
    // completed at shutdown is subscribed again, as an application would.
    let connections = 0;
    let closes = 0;
    client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 200,
      retryWait: () => new Promise((r) => setTimeout(r, 200)),
      shouldRetry: () => true,
      onNonLazyError: () => undefined,
      on: { connected: () => (connections += 1), closed: () => (closes += 1) },
    });
    const windows: { at: number; start: string }[] = [];
    let subscribed = true;
    let serverCompletes = 0;
    const subscribe = (): void => {
      client!.subscribe<WindowData>(
        { query: WINDOWS_QUERY, variables: { userId: liveUser } },
        {
          next: (r) => {
            if (r.data) windows.push({ at: Date.now(), start: r.data.metricWindows.windowStart });
          },
          error: () => subscribed && subscribe(),
          complete: () => {
            if (!subscribed) return;
            serverCompletes += 1;
            subscribe();
          },
        },
      );
    };
    subscribe();
    let windowSeq = 0;
    const windowBase = Date.UTC(2025, 0, 1);
    /** Produces windows one by one until the subscriber has one that arrived after `since`. */
    const windowArrives = (since: number, what: string) =>
      waitFor(
        async () => {
          await produceJson(producer!, topics.KAFKA_PROCESSED_TOPIC, [
            windowV1(liveUser, 'heart_rate', windowBase + windowSeq++ * 60_000, [70, 80]),
          ]);
          return windows.some((w) => w.at > since);
        },
        { timeoutMs: 30_000, intervalMs: 300, what },
      );
    await windowArrives(0, 'a window through the first gateway');

    // The load: two clients ingesting, two querying, each request bounded.
    const sent: Sent[] = [];
    let running = true;
    let seq = 0;
    const base = Date.now() - 86_400_000;
    const request = async (body: unknown, eventIds: string[]): Promise<void> => {
      const at = Date.now();
      let outcome: Outcome;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_BOUND_MS),
        });
        const text = await res.text();
        const json = JSON.parse(text) as {
          data?: Record<string, unknown> | null;
          errors?: { extensions?: { code?: string } }[];
        };
        const ms = Date.now() - at;
        outcome =
          res.ok && json.errors === undefined
            ? { kind: 'ok', ms }
            : { kind: 'error', ms, status: res.status, code: json.errors?.[0]?.extensions?.code ?? 'NO_CODE' };
      } catch (err) {
        const ms = Date.now() - at;
        outcome =
          (err as Error).name === 'TimeoutError'
            ? { kind: 'timeout', ms }
            : { kind: 'network', ms, cause: networkCause(err) };
      }
      sent.push({ outcome, at, eventIds });
      // A refused connection returns at once; pace the retry like a client would instead of spinning.
      if (outcome.kind === 'network') await new Promise((r) => setTimeout(r, 50));
    };
    const ingestLoop = async () => {
      while (running) {
        const readings = Array.from({ length: 5 }, () => {
          const n = seq++;
          return {
            userId: `${userPrefix}${n % 4}`,
            metric: 'HEART_RATE',
            time: new Date(base + n * 1000).toISOString(),
            value: 70,
            eventId: randomUUID(),
          };
        });
        await request(
          { query: INGEST, variables: { r: readings } },
          readings.map((r) => r.eventId),
        );
      }
    };
    const queryLoop = async () => {
      while (running) {
        await request(
          {
            query: SERIES,
            variables: { u: `${userPrefix}0`, f: new Date(base).toISOString(), t: new Date(Date.now()).toISOString() },
          },
          [],
        );
      }
    };
    const loops = [ingestLoop(), ingestLoop(), queryLoop(), queryLoop()];
    const oks = (since: number) => sent.filter((s) => s.outcome.kind === 'ok' && s.at >= since).length;

    let stats: Record<string, unknown> = {};
    try {
      await waitFor(() => oks(0) >= 40, { timeoutMs: 20_000, what: '40 answers before the restart' });

      const termAt = Date.now();
      const exit = await gateway!.kill('SIGTERM');
      const exitedAt = Date.now();
      expect(exit).toEqual({ code: 0, signal: null });
      gateway = await startChild({ name: 'gateway-2', script: 'src/gateway/main.ts', port, env });
      const readyAt = Date.now();
      await waitFor(() => oks(readyAt) >= 40, { timeoutMs: 20_000, what: '40 answers after the restart' });
      await windowArrives(readyAt, 'a window through the restarted gateway');
      const firstWindowAfter = windows.find((w) => w.at > readyAt)!;
      stats = {
        drainMs: exitedAt - termAt,
        downMs: readyAt - exitedAt,
        subscriptionBackAfterReadyMs: firstWindowAfter.at - readyAt,
      };
    } finally {
      running = false;
      subscribed = false;
      await Promise.all(loops);
    }

    const outcomes = sent.map((s) => s.outcome);
    console.log(
      JSON.stringify({
        requests: sent.length,
        outcomes: tally(outcomes),
        maxMs: Math.max(...outcomes.map((o) => o.ms)),
        connections,
        closes,
        serverCompletes,
        windows: windows.length,
        ...stats,
      }),
    );
    expect(outcomes.filter((o) => o.kind === 'timeout')).toEqual([]);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(REQUEST_BOUND_MS);
    for (const o of outcomes) {
      if (o.kind === 'network') expect(CLEAN_NETWORK.has(o.cause), o.cause).toBe(true);
      if (o.kind === 'error') expect(['NO_CODE', 'INTERNAL_SERVER_ERROR']).not.toContain(o.code);
    }
    // The client was refused while no process listened, so the outage was real.
    expect(outcomes.some((o) => o.kind === 'network' && o.cause === 'ECONNREFUSED')).toBe(true);
    // The client reconnected on its own; the old process completed the subscription at shutdown
    // (a subscribe sent while its socket was closing may be completed too), never errored it.
    expect(connections).toBeGreaterThanOrEqual(2);
    expect(serverCompletes).toBeGreaterThanOrEqual(1);

    // Readings the gateway answered as accepted, before or after the restart, are all on the topic.
    const accepted = new Set(sent.filter((s) => s.outcome.kind === 'ok').flatMap((s) => s.eventIds));
    expect(accepted.size).toBeGreaterThan(0);
    const onTopic = new Set<string>();
    await collect(
      kafka,
      topics.KAFKA_TOPIC,
      Array.from({ length: 6 }, (_, partition) => ({ partition, offset: '0' })),
      (m) => {
        const e = (JSON.parse(m.value ?? '{}') as { eventId?: string }).eventId;
        if (e) onTopic.add(e);
        return true;
      },
      () => [...accepted].every((e) => onTopic.has(e)),
      20_000,
    );
    expect([...accepted].filter((e) => !onTopic.has(e))).toEqual([]);
  }, 120_000);
});
