/**
 * SIGTERM during ingest loses nothing accepted: a gateway process (`tsx src/gateway/main.ts`) takes
 * a continuous stream of mutations, is sent SIGTERM mid-stream, and must (1) exit 0, (2) have put on
 * the topic every reading whose mutation answered "accepted", and (3) fail later requests cleanly
 * (connection refused), never leave them hanging.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { createTopics, type Topics } from '../integration/consumer-fixtures.js';
import { exited, freePort } from '../helpers/process.js';

const INGEST = `mutation SigtermIngest($readings: [ReadingInput!]!) { ingestReadings(readings: $readings) { accepted } }`;
const PER_MUTATION = 5;
const SENDERS = 4;

describe('SIGTERM during ingest', () => {
  const kafka = testKafka();
  let topics: Topics;
  let child: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    topics = await createTopics(kafka);
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await topics?.remove();
  });

  it('exits 0, keeps every accepted reading, and refuses later requests', async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'src/gateway/main.ts'], {
      env: {
        ...process.env,
        // As `npm run gateway` runs it. Under vitest's NODE_ENV=test, which no deployment uses,
        // Apollo Server installs no signal handlers of its own, so the test would not see them.
        NODE_ENV: 'development',
        PORT: String(port),
        HOST: '127.0.0.1',
        KAFKA_TOPIC: topics.topic,
        LOG_LEVEL: 'info',
        GRAPHIQL: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, {
      timeoutMs: 60_000,
      what: 'the gateway to be ready',
    });

    const user = uniqueId('sigterm-user');
    const accepted: string[] = [];
    const outcomes = { accepted: 0, graphqlError: 0, connectionError: 0, hung: 0 };
    let seq = 0;
    let stopSending = false;

    const sender = async (): Promise<void> => {
      while (!stopSending) {
        const readings = Array.from({ length: PER_MUTATION }, () => {
          seq += 1;
          return {
            userId: user,
            metric: 'STEPS',
            time: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
            value: 1,
            eventId: randomUUID(),
          };
        });
        try {
          const res = await fetch(`${base}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: INGEST, variables: { readings } }),
            signal: AbortSignal.timeout(15_000),
          });
          const body = (await res.json()) as {
            data?: { ingestReadings?: { accepted: number } } | null;
            errors?: unknown[];
          };
          if (body.data?.ingestReadings?.accepted === PER_MUTATION) {
            outcomes.accepted += 1;
            accepted.push(...readings.map((r) => r.eventId));
          } else {
            outcomes.graphqlError += 1;
          }
        } catch (err) {
          if ((err as Error).name === 'TimeoutError') outcomes.hung += 1;
          else outcomes.connectionError += 1;
          // The process is going or gone; a refused connection is the clean answer we expect.
          if (child!.exitCode !== null || child!.signalCode !== null) return;
          // Pacing only: the listener is closed while the process finishes its drain.
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };

    const senders = Array.from({ length: SENDERS }, () => sender());
    await waitFor(() => outcomes.accepted >= 40, { timeoutMs: 30_000, what: '40 accepted mutations before SIGTERM' });
    const atSignal = outcomes.accepted;
    child.kill('SIGTERM');
    const exit = await exited(child);
    stopSending = true;
    await Promise.all(senders);

    expect(exit, output.slice(-2000)).toEqual({ code: 0, signal: null });
    expect(outcomes.hung).toBe(0);
    expect(outcomes.accepted).toBeGreaterThanOrEqual(atSignal);
    expect(output).toContain('shutting down');
    // One signal, one drain: nothing in the process raises the signal again.
    expect(output).not.toContain('second signal');

    // After exit: refused at once, not left waiting.
    const t0 = Date.now();
    const after = await fetch(`${base}/graphql`, { method: 'POST', signal: AbortSignal.timeout(5_000) }).then(
      () => 'answered',
      (err: Error) => String((err.cause as { code?: string } | undefined)?.code ?? err.name),
    );
    expect(after).toBe('ECONNREFUSED');
    expect(Date.now() - t0).toBeLessThan(2_000);

    // Every accepted reading is on the topic.
    const want = new Set(accepted);
    const seen = new Set<string>();
    await collect(
      kafka,
      topics.topic,
      Array.from({ length: 6 }, (_, partition) => ({ partition, offset: '0' })),
      (m) => {
        const id = (JSON.parse(m.value ?? '{}') as { eventId?: string }).eventId;
        if (id && want.has(id)) seen.add(id);
        return false;
      },
      () => seen.size === want.size,
      30_000,
    );
    expect(seen.size).toBe(want.size);
    console.log(`sigterm-ingest: ${JSON.stringify({ ...outcomes, atSignal, readingsAccepted: accepted.length })}`);
  });
});
