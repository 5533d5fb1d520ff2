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
import { uniqueId, waitFor } from '../helpers/wait.js';
import { createTopics, workerEnv, type Topics } from '../integration/consumer-fixtures.js';

const SECRET = 'survival-secret-0123456789-abcdefghijkl';

/** Raw requests: the request line, the URL and the headers, not only bodies. */
function corpus(): { name: string; raw: string }[] {
  const line = (target: string, extra = '', method = 'GET', version = 'HTTP/1.1') =>
    `${method} ${target} ${version}\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`;
  const post = (target: string, headers: string, body: string) =>
    `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n${body}`;
  return [
    { name: 'GET //[', raw: line('//[') },
    { name: 'GET http://[', raw: line('http://[') },
    { name: 'GET https://[::1', raw: line('https://[::1') },
    { name: 'GET //[/graphql', raw: line('//[/graphql') },
    { name: 'GET //evil.example/graphql', raw: line('//evil.example/graphql') },
    { name: 'POST //[', raw: post('//[', 'Content-Length: 2\r\n', '{}') },
    { name: 'GET /metrics as absolute form', raw: line('http://127.0.0.1/metrics') },
    { name: 'bad percent-encoding', raw: line('/graphql?query=%ZZ%') },
    { name: 'NUL and high bytes in the path', raw: line('/%00%ff%fe') },
    { name: 'asterisk target', raw: line('*', '', 'OPTIONS') },
    { name: 'unknown method', raw: line('/graphql', '', 'BREW') },
    { name: 'HTTP/9.9', raw: line('/graphql', '', 'GET', 'HTTP/9.9') },
    { name: 'HTTP/0.9 line', raw: 'GET /\r\n\r\n' },
    { name: 'no request line', raw: '\r\n\r\n\r\n' },
    { name: 'binary garbage', raw: '\u0000\u0001\u0002\u00ff GET / HTTP/1.1\r\n\r\n' },
    { name: 'URL over the header limit', raw: line(`/graphql?q=${'a'.repeat(100_000)}`) },
    { name: 'header over the limit', raw: line('/graphql', `X-Big: ${'b'.repeat(100_000)}\r\n`) },
    { name: 'Host: [', raw: 'GET /healthz HTTP/1.1\r\nHost: [\r\nConnection: close\r\n\r\n' },
    { name: 'no Host', raw: 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n' },
    { name: 'bare CR in a header', raw: line('/graphql', 'X-Request-Id: a\rb\r\n') },
    { name: 'header without colon', raw: line('/graphql', 'Garbage\r\n') },
    { name: 'odd request id', raw: line('/healthz', `X-Request-Id: ../../etc/passwd${'x'.repeat(500)}\r\n`) },
    {
      name: 'huge bearer token',
      raw: line('/graphql?query=%7B__typename%7D', `Authorization: Bearer ${'A'.repeat(12_000)}\r\n`),
    },
    {
      name: 'two authorization headers',
      raw: line('/graphql', 'Authorization: Bearer a.b.c\r\nAuthorization: Basic x\r\n'),
    },
    { name: 'negative Content-Length', raw: post('/graphql', 'Content-Length: -1\r\n', '{}') },
    { name: 'conflicting Content-Length', raw: post('/graphql', 'Content-Length: 2\r\nContent-Length: 3\r\n', '{}') },
    { name: 'Content-Length list', raw: post('/graphql', 'Content-Length: 2, 2\r\n', '{}') },
    {
      name: 'chunked with a bad chunk size',
      raw: post(
        '/graphql',
        'Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n',
        'zz\r\n{}\r\n0\r\n\r\n',
      ),
    },
    {
      name: 'chunked and Content-Length',
      raw: post('/graphql', 'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', '2\r\n{}\r\n0\r\n\r\n'),
    },
    {
      name: 'body shorter than declared',
      raw: post('/graphql', 'Content-Length: 1000\r\nContent-Type: application/json\r\n', '{"query"'),
    },
    {
      name: 'charset utf-16',
      raw: post('/graphql', 'Content-Type: application/json; charset=utf-16\r\nContent-Length: 2\r\n', '{}'),
    },
    { name: 'Expect: 100-continue', raw: post('/graphql', 'Expect: 100-continue\r\nContent-Length: 2\r\n', '{}') },
    {
      name: 'WebSocket upgrade to //[',
      raw: line(
        '//[',
        'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
      ),
    },
    {
      name: 'WebSocket upgrade to /metrics',
      raw: line(
        '/metrics',
        'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
      ),
    },
    {
      name: 'GET /graphql with a long operationName',
      raw: line(`/graphql?query=%7B__typename%7D&operationName=${'o'.repeat(6000)}`),
    },
  ];
}

/** Sends one raw request; the status of the answer, 'closed' when the peer closed without one. */
function send(port: number, raw: string): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : 'closed');
    };
    const timer = setTimeout(done, 5_000);
    socket.on('connect', () => socket.end(raw));
    socket.on('data', (d) => {
      got += d.toString('latin1');
    });
    socket.on('close', done);
    socket.on('error', done);
  });
}

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
      for (const c of corpus()) {
        const answer = await send(port, c.raw);
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
