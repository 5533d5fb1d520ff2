/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core), while
 * the device simulator streams readings for demo-1..demo-3 through a real gateway, and a real worker
 * stores them: `/`, `/users/demo-1` and `/pipeline` load with no console error and no failed
 * request, the charts have data, a metric window arrives on the open user page over graphql-ws, and
 * the pipeline page lists a malformed message this test wrote to the ingestion topic, with the code
 * the worker gave it. Screenshots of each page go to test-results/screenshots/.
 * Skipped, saying why, only when /usr/bin/chromium is absent (`apt-get install -y chromium`).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, hasChromium, launchChromium } from '../helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createConsumerWorker, type ConsumerWorker } from '../../src/consumer/worker.js';
import { createSimulator, type Simulator } from '../../src/demo/simulator.js';
import { createIngestClient } from '../../src/demo/ingest.client.js';
import {
  connectedProducer,
  produceJson,
  startLiveGateway,
  testProducerKafka,
  windowV1,
  type LiveGateway,
} from '../helpers/live.js';
import { uniqueId, waitFor } from '../helpers/wait.js';
import { signToken } from '../../src/auth/sign.js';

if (!hasChromium)
  console.warn(`skipping the dashboard browser test: ${CHROMIUM} is absent (apt-get install -y chromium)`);

const SCREENSHOTS = resolve('test-results', 'screenshots');

describe.skipIf(!hasChromium)('dashboard in headless Chromium, with the simulator running', () => {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  let gw: LiveGateway;
  let worker: ConsumerWorker;
  let simulator: Simulator;
  let browser: Browser;
  const pool = new pg.Pool({ connectionString: config.postgres.url, max: 1 });
  const problems: string[] = [];
  const kafka = testProducerKafka();

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const origin = new URL(gw.url).origin;
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${path} console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${path} page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      // A reload or close cancels the page's polls in flight (ERR_ABORTED): the browser's doing, not the gateway's.
      if (r.failure()?.errorText !== 'net::ERR_ABORTED')
        problems.push(`${path} request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${path} ${r.status()} ${r.url()}`);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith('ws://') && !r.url().startsWith('data:'))
        problems.push(`${path} requested outside the gateway: ${r.url()}`);
    });
    await page.goto(`${origin}${path}`);
    await page.waitForSelector('header nav', { timeout: 30_000 });
    return page;
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    gw = await startLiveGateway({});
    const workerConfig = loadConfig({
      ...process.env,
      LOG_LEVEL: 'warn',
      KAFKA_CONSUMER_GROUP: uniqueId('dashboard-writer'),
      KAFKA_CONSUMER_FROM_BEGINNING: 'false',
      CONSUMER_METRICS_PORT: '0',
    });
    worker = createConsumerWorker({
      config: workerConfig,
      logger: createLogger(workerConfig, 'dashboard-worker'),
      print: () => undefined,
    });
    await worker.start();
    simulator = createSimulator({
      users: 3,
      rate: 1,
      thresholds: config.flink.alerts,
      windowSeconds: config.flink.windowSeconds,
      episodeEverySeconds: 0,
      backfillEverySeconds: 0,
      rawBadEverySeconds: 0,
      send: createIngestClient({ url: gw.url }),
      print: () => undefined,
    });
    await simulator.start();
    // The charts read what the worker stored: wait for demo-1's first readings.
    await waitFor(
      async () =>
        Number(
          (
            await pool.query<{ n: string }>(
              "SELECT count(*) AS n FROM readings WHERE user_id = 'demo-1' AND time > now() - interval '2 minutes'",
            )
          ).rows[0]!.n,
        ) > 0,
      { timeoutMs: 60_000, what: "demo-1's readings stored" },
    );
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await simulator?.stop();
    await worker?.stop();
    await gw?.stop();
    await pool.end();
  });

  it('/ shows the cohort with data, the readings rate, and loads cleanly', async () => {
    const page = await open('/');
    // The first visit waits for the gateway to bundle the script (once per process); a reload shows
    // what every later visitor gets.
    const paint = () =>
      page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
    const cold = await paint();
    await page.reload();
    await page.waitForSelector('header nav');
    const warm = await paint();
    const ms = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v)} ms`);
    console.info(`[dashboard] first contentful paint of /: first visit ${ms(cold)}, later visits ${ms(warm)}`);
    await page.waitForFunction(
      () => Number(document.querySelector('#cohort figure.chart')?.getAttribute('data-points')) > 0,
      null,
      {
        timeout: 60_000,
      },
    );
    // Two offset samples 5 s apart give a rate; the simulator keeps it above zero.
    await page.waitForFunction(
      () => {
        const m = /in ([\d.,]+)\/s/.exec(document.querySelector('#rates .big')?.textContent ?? '');
        return m !== null && Number(m[1]!.replace(/,/g, '')) > 0;
      },
      null,
      { timeout: 30_000 },
    );
    expect(await page.locator('#leaderboard .problem').count()).toBe(0);
    await shot(page, 'fleet');
    await page.close();
    expect(problems).toEqual([]);
  });

  it('/users/demo-1 charts the stored series and shows a window as it arrives', async () => {
    const page = await open('/users/demo-1');
    await page.waitForFunction(
      () => Number(document.querySelector('#series figure.chart')?.getAttribute('data-points')) > 0,
      null,
      { timeout: 30_000 },
    );
    await page.waitForFunction(() => (document.querySelector('#latest dd')?.textContent ?? '–') !== '–', null, {
      timeout: 30_000,
    });
    // A window for demo-1 written to the processed topic reaches the open page through graphql-ws.
    const producer = await connectedProducer(kafka);
    try {
      const start = Date.UTC(2020, 0, 1) + Math.floor(Math.random() * 1e6) * 60_000;
      await waitFor(
        async () => {
          await produceJson(producer, config.kafka.topics.processed, [
            windowV1('demo-1', 'heart_rate', start, [61, 63, 65]),
          ]);
          return (await page.locator('#windows-table tbody tr').count()) > 0;
        },
        { timeoutMs: 30_000, intervalMs: 2_000, what: 'a window row on the user page' },
      );
    } finally {
      await producer.disconnect();
    }
    expect(await page.locator('#windows-table tbody tr').first().textContent()).toContain('63');
    await shot(page, 'user');
    await page.close();
    expect(problems).toEqual([]);
  });

  it('/pipeline shows topics, groups, Flink, and the dead letter this test sent', async () => {
    const marker = uniqueId('dashboard-bad');
    const producer = await connectedProducer(kafka);
    try {
      await producer.send({
        topic: config.kafka.topics.ingestion,
        messages: [
          {
            key: marker,
            value: JSON.stringify({ userId: marker, metric: 'heart_rate', time: 'not a time', value: 70 }),
            headers: { 'schema-version': '1' },
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const page = await open('/pipeline');
    await page.waitForSelector('#topics table', { timeout: 30_000 });
    expect(await page.locator('#topics').textContent()).toContain(config.kafka.topics.ingestion);
    expect(await page.locator('#groups table').count()).toBe(1);
    const row = page.locator('#dead-letters-table tbody tr', { hasText: marker });
    await row.first().waitFor({ timeout: 60_000 });
    expect(await row.first().textContent()).toContain('INVALID_TIME');
    await shot(page, 'pipeline');
    await page.close();
    expect(problems).toEqual([]);
  });

  it('with auth required, asks for a token and follows its role', async () => {
    const secret = 'dashboard-secret-0123456789-abcdefghijk';
    const guarded = await startLiveGateway({ AUTH_MODE: 'required', AUTH_JWT_SECRET: secret });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      const origin = new URL(guarded.url).origin;
      await page.goto(`${origin}/`);
      await page.waitForSelector('#cohort .problem[data-code="UNAUTHENTICATED"]', { timeout: 30_000 });
      // An analyst's token: the fleet's aggregates answer; the operator's pipeline is refused.
      const analyst = await signToken({ sub: 'analyst-1', roles: ['analyst'] }, { secret });
      await page.evaluate((t) => localStorage.setItem('fitbit-dashboard-token', t), analyst);
      await page.reload();
      await page.waitForFunction(
        () => Number(document.querySelector('#cohort figure.chart')?.getAttribute('data-points')) > 0,
        null,
        { timeout: 60_000 },
      );
      expect(await page.locator('#cohort .problem').count()).toBe(0);
      await page.goto(`${origin}/pipeline`);
      await page.waitForSelector('.problem[data-code="FORBIDDEN"]', { timeout: 30_000 });
      await page.goto(`${origin}/users/demo-1`);
      await page.waitForSelector('#latest .problem[data-code="FORBIDDEN"]', { timeout: 30_000 });
    } finally {
      await context.close();
      await guarded.stop();
    }
  });
});
