/**
 * The compiled build: `npm run build` turns the sources into JavaScript under build/, and the
 * compiled gateway and worker (what `npm start` and `npm run start:consumer` run, with no tsx)
 * serve: a reading ingested through the compiled gateway's producer thread is stored by the
 * compiled worker, and GraphiQL's page is served from the prebuilt assets.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, freePort } from '../helpers/process.js';
import { REPO_ROOT } from '../helpers/faults.js';
import { createTopics, deleteTopics, privateTopics, testKafka } from '../helpers/kafka.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const id = uniqueId('compiled');
const topics = privateTopics(id);

describe('npm run build, then the compiled gateway and worker', () => {
  const kafka = testKafka();
  const children: ChildProcess[] = [];
  const output = new Map<ChildProcess, string>();
  let gatewayPort: number;

  const start = (entry: string, env: Record<string, string>): ChildProcess => {
    // Plain node: nothing of tsx is loaded, so a TypeScript file reached at run time would fail.
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...topics, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    output.set(child, '');
    const append = (d: Buffer) => output.set(child, (output.get(child)! + d.toString()).slice(-4000));
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
    await createTopics(kafka, Object.values(topics), 3);
    gatewayPort = await freePort();
    start('build/consumer/main.js', {
      KAFKA_CONSUMER_GROUP: `${id}-writer`,
      CONSUMER_METRICS_PORT: String(await freePort()),
    });
    start('build/gateway/main.js', {
      PORT: String(gatewayPort),
      AUTH_MODE: 'development',
      FLINK_HEARTBEAT_INTERVAL_MS: '0',
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${gatewayPort}/readyz`).catch(() => undefined))?.ok, {
      timeoutMs: 60_000,
      what: `the compiled gateway:\n${[...output.values()].join('\n')}`,
    });
  }, 180_000);

  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode === null) c.kill('SIGTERM');
      await exited(c);
    }
    await deleteTopics(kafka, Object.values(topics));
  }, 60_000);

  it('compiles to build/ beside the prebuilt browser assets', () => {
    for (const file of ['build/gateway/main.js', 'build/consumer/main.js', 'build/ingest/producer.thread.boot.mjs']) {
      expect(existsSync(join(REPO_ROOT, file)), file).toBe(true);
    }
    expect(existsSync(join(REPO_ROOT, 'build/ingest/producer.thread.ts'))).toBe(false);
  });

  it('ingests through the compiled gateway and stores through the compiled worker', async () => {
    const url = `http://127.0.0.1:${gatewayPort}/graphql`;
    const user = uniqueId('compiled-u');
    const time = new Date(Date.now() - 60_000).toISOString();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted } }',
        variables: { r: [{ userId: user, metric: 'HEART_RATE', time, value: 64 }] },
      }),
    });
    expect(await res.json()).toEqual({ data: { ingestReadings: { accepted: 1 } } });
    const stored = await waitFor(
      async () => {
        const r = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: `query($u: ID!, $f: DateTime!, $t: DateTime!) { readings(userId: $u, metric: HEART_RATE, from: $f, to: $t) { nodes { time value } } }`,
            variables: { u: user, f: new Date(Date.now() - 3_600_000).toISOString(), t: new Date().toISOString() },
          }),
        });
        const body = (await r.json()) as { data?: { readings: { nodes: { time: string; value: number }[] } } };
        return body.data && body.data.readings.nodes.length > 0 ? body.data.readings.nodes : undefined;
      },
      { timeoutMs: 30_000, what: 'the reading stored by the compiled worker' },
    );
    expect(stored).toEqual([{ time, value: 64 }]);

    const page = await fetch(url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const script = await fetch(`http://127.0.0.1:${gatewayPort}/graphiql/app.js`);
    expect(script.status).toBe(200);
  }, 60_000);
});
