/**
 * GraphiQL in a real headless Chromium (Debian's `chromium`, driven by playwright-core): the page
 * and its assets come from the gateway itself, a query typed into the editor returns the seeded
 * data, and a subscription receives a metric window through graphql-ws.
 * Skipped, saying why, only when /usr/bin/chromium is absent (`apt-get install -y chromium`).
 */
import type pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/timescale/migrations.js';
import { createPool } from '../../src/timescale/pool.js';
import { testKafka } from '../helpers/kafka.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { signToken } from '../../src/auth/sign.js';

if (!hasChromium)
  console.warn(`skipping the GraphiQL browser test: ${CHROMIUM} is absent (apt-get install -y chromium)`);

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });

/** Replaces the query editor's text (CodeMirror 5 keeps its instance on the element) and runs it. */
async function run(page: Page, query: string): Promise<void> {
  await page.evaluate((q) => {
    const el = document.querySelector('.graphiql-query-editor .CodeMirror') as unknown as {
      CodeMirror: { setValue(v: string): void };
    };
    el.CodeMirror.setValue(q);
  }, query);
  // GraphiQL parses the editor 100 ms after a change (debounced) and picks HTTP or WebSocket from
  // that parse: wait until it has parsed this text, or a subscription would go out as a POST.
  await page.waitForFunction(
    (q) => {
      const el = document.querySelector('.graphiql-query-editor .CodeMirror') as unknown as {
        CodeMirror: { documentAST?: { loc?: { source?: { body?: string } } } };
      };
      return el.CodeMirror.documentAST?.loc?.source?.body === q;
    },
    query,
    { timeout: 10_000 },
  );
  await page.click('.graphiql-execute-button');
}

function resultText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.querySelector('.result-window .CodeMirror') as unknown as {
      CodeMirror: { getValue(): string };
    } | null;
    return el?.CodeMirror.getValue() ?? '';
  });
}

describe.skipIf(!hasChromium)('GraphiQL in headless Chromium', () => {
  let gw: TestGateway;
  let pool: pg.Pool;
  let browser: Browser;
  let page: Page;
  const user = uniqueId('graphiql');
  const failed: string[] = [];

  beforeAll(async () => {
    pool = createPool(config.postgres, createLogger(config, 'graphiql-test'), {
      max: 1,
      applicationName: 'fitbit-test',
    });
    await migrate(pool);
    await pool.query(
      `INSERT INTO readings (user_id, metric, time, value)
       VALUES ($1, 'heart_rate', '2025-09-01T10:00:05Z', 60), ($1, 'heart_rate', '2025-09-01T10:00:35Z', 70), ($1, 'heart_rate', '2025-09-01T10:01:10Z', 90)`,
      [user],
    );
    gw = await startGateway({ GRAPHIQL: 'true' });
    browser = await launchChromium();
    page = await browser.newPage();
    // Everything the page loads must come from the gateway: no CDN.
    page.on('request', (r) => {
      if (!r.url().startsWith(new URL(gw.url).origin) && !r.url().startsWith('ws://') && !r.url().startsWith('data:'))
        failed.push(r.url());
    });
    await page.goto(gw.url);
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 30_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await pool?.query('DELETE FROM readings WHERE user_id = $1', [user]);
    await pool?.end();
  });

  it('serves the page and its assets from the gateway itself', () => {
    expect(failed).toEqual([]);
  });

  it('runs a query and shows the result', async () => {
    await run(
      page,
      `{ series(userId: "${user}", metric: HEART_RATE, from: "2025-09-01T10:00:00Z", to: "2025-09-01T11:00:00Z", bucket: MINUTE) { time count avg } }`,
    );
    const text = await waitFor(
      async () => {
        const t = await resultText(page);
        return t.includes('"series"') && t;
      },
      { timeoutMs: 15_000, what: 'the series result in GraphiQL' },
    );
    expect(JSON.parse(text)).toEqual({
      data: {
        series: [
          { time: '2025-09-01T10:00:00.000Z', count: 2, avg: 65 },
          { time: '2025-09-01T10:01:00.000Z', count: 1, avg: 90 },
        ],
      },
    });
  });

  it('runs a subscription over graphql-ws and shows a metric window', async () => {
    const sockets: string[] = [];
    const frames: string[] = [];
    page.on('websocket', (ws) => {
      sockets.push(ws.url());
      ws.on('framereceived', (f) => frames.push(String(f.payload).slice(0, 300)));
    });
    await run(page, `subscription { metricWindows(userId: "${user}") { userId metric count avg windowStart } }`);
    const producer = testKafka().producer();
    await producer.connect();
    try {
      // The socket opens and the subscription registers asynchronously: publish until the page shows
      // one. Each window is new (the hub drops repeats of a window it has seen), one minute apart.
      const sent: string[] = [];
      const text = await waitFor(
        async () => {
          const t = await resultText(page);
          if (t.includes(user)) return t;
          const start = Date.parse('2025-09-01T10:00:00.000Z') + sent.length * 60_000;
          const windowStart = new Date(start).toISOString();
          sent.push(windowStart);
          const event = {
            userId: user,
            metric: 'heart_rate',
            windowStart,
            windowEnd: new Date(start + 60_000).toISOString(),
            count: 2,
            avg: 65,
            min: 60,
            max: 70,
            sum: 130,
          };
          await producer.send({
            topic: config.kafka.topics.processed,
            messages: [{ key: user, value: JSON.stringify(event) }],
          });
          return undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'a metric window in GraphiQL' },
      ).catch(async (err: Error) => {
        throw new Error(
          `${err.message}; page shows ${JSON.stringify((await resultText(page)).slice(0, 300))}; frames ${JSON.stringify(frames)}; sockets ${JSON.stringify(sockets)}`,
        );
      });
      const shown = JSON.parse(text) as { data: { metricWindows: { windowStart: string } } };
      expect(shown).toEqual({
        data: {
          metricWindows: {
            userId: user,
            metric: 'HEART_RATE',
            count: 2,
            avg: 65,
            windowStart: shown.data.metricWindows.windowStart,
          },
        },
      });
      expect(sent).toContain(shown.data.metricWindows.windowStart);
      expect(sockets.some((u) => u === `${new URL(gw.url).origin.replace('http', 'ws')}/graphql`)).toBe(true);
    } finally {
      await producer.disconnect();
    }
  });
});

const PRODUCTION_SECRET = 'graphiql-test-secret-0123456789-abcdef';

describe('GraphiQL off in production', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ NODE_ENV: 'production', AUTH_JWT_SECRET: PRODUCTION_SECRET });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('serves no page, no assets and no introspection', async () => {
    const page = await fetch(gw.url, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    const asset = await fetch(`${new URL(gw.url).origin}/graphiql/app.js`);
    expect(asset.status).toBe(404);
    const token = await signToken({ sub: 'ops', roles: ['admin'] }, { secret: PRODUCTION_SECRET });
    const introspection = await gw.gql('{ __schema { queryType { name } } }', undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(introspection.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
