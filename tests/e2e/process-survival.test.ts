/**
 * No request stops a serving process. A real gateway process (production mode, authentication
 * required) and a real worker process get a corpus of raw request lines, URLs and headers over
 * plain sockets: among them `GET //[` and `GET http://[`, which once made `new URL()` throw inside a
 * response `close` listener and took the whole gateway down. Each must get an answer below 500 (or
 * a closed connection, which is how Node refuses what it cannot parse), and afterwards both
 * processes still serve, their `fitbit_uncaught_errors_total` is zero (the causes are fixed, not
 * only survived), and nothing a client did was logged at error level.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, freePort } from '../helpers/process.js';
import { testKafka } from '../helpers/kafka.js';
import { rawRequestCorpus, sendRaw } from '../helpers/raw-http.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { createTopics, workerEnv, type Topics } from '../integration/consumer-fixtures.js';

const SECRET = 'survival-secret-0123456789-abcdefghijkl';

/** Sends a body shorter than it declares, then drops the connection: a client abort. */
function abortMidBody(port: number, authorization: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.write(
        `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"query":`,
      );
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 200);
    });
    socket.on('error', () => resolve());
  });
}

function uncaught(metrics: string): number {
  return [...metrics.matchAll(/^fitbit_uncaught_errors_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('no request stops a serving process', () => {
  const kafka = testKafka();
  let topics: Topics;
  const children: ChildProcess[] = [];
  const output = new Map<ChildProcess, string>();

  function start(entry: string, env: Record<string, string | undefined>): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    output.set(child, '');
    child.stdout!.on('data', (d: Buffer) => output.set(child, output.get(child)! + d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.set(child, output.get(child)! + d.toString()));
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    topics = await createTopics(kafka, 3);
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    }
    await topics?.remove();
  });

  it('the gateway and the worker answer the whole corpus and keep serving', async () => {
    const gatewayPort = await freePort();
    const workerPort = await freePort();
    const gateway = start('src/gateway/main.ts', {
      ...process.env,
      NODE_ENV: 'production',
      AUTH_MODE: 'required',
      AUTH_JWT_SECRET: SECRET,
      PORT: String(gatewayPort),
      HOST: '127.0.0.1',
      KAFKA_TOPIC: topics.topic,
      LOG_LEVEL: 'info',
    });
    const worker = start('src/consumer/main.ts', {
      ...workerEnv(topics, uniqueId('survival-group')),
      CONSUMER_METRICS_PORT: String(workerPort),
      LOG_LEVEL: 'info',
    });
    for (const port of [gatewayPort, workerPort]) {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
        {
          timeoutMs: 90_000,
          what: `the process on ${port} to be ready`,
        },
      );
    }

    const failures: string[] = [];
    for (const [name, port] of [
      ['gateway', gatewayPort],
      ['worker', workerPort],
    ] as const) {
      for (const c of rawRequestCorpus()) {
        const answer = await sendRaw(port, c.raw);
        if (answer !== 'closed' && answer >= 500) failures.push(`${name} ${c.name}: ${answer}`);
        const alive = await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.status,
          (e: Error) => e.message,
        );
        if (alive !== 200) failures.push(`${name} after ${c.name}: /healthz ${alive}`);
      }
    }
    await abortMidBody(gatewayPort, 'Bearer a.b.c');
    await abortMidBody(gatewayPort, 'Bearer x.y.z');
    await new Promise((r) => setTimeout(r, 500));

    expect(failures).toEqual([]);
    expect(gateway.exitCode).toBeNull();
    expect(worker.exitCode).toBeNull();
    for (const port of [gatewayPort, workerPort]) {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('fitbit_uncaught_errors_total');
      expect(uncaught(metrics)).toBe(0);
    }
    // A client's mistakes and aborts are routine: nothing at error level (pino: 50 and above).
    const errors = [gateway, worker].flatMap((child) =>
      output
        .get(child)!
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level >= 50),
    );
    expect(errors).toEqual([]);
  });
});
