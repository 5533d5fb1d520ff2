/**
 * `npm run bench dashboard`: how fast the dashboard paints, and what it costs the gateway.
 *
 * With the device simulator streaming (3 users, one tick a second) through a gateway whose
 * dashboard assets were built at start (as `npm run dev` does), headless Chromium opens `/` again
 * and again and reads its first contentful paint. Baseline, same run and browser: a static page of
 * the same size served by a bare node:http server. Then this process's CPU (gateway and simulator)
 * over 10 s with the dashboard served but no page open, against the same with a gateway that does
 * not serve it (DASHBOARD=false), and with the fleet page open (it polls).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../tests/helpers/browser.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createGateway } from '../src/gateway/app.js';
import { createSimulator } from '../src/demo/simulator.js';
import { createIngestClient } from '../src/demo/ingest.client.js';
import { mode, round, writeResult, type Figure } from './lib/report.js';
import { summarize } from './lib/util.js';

const RUNS = mode() === 'full' ? 30 : 10;
const IDLE_MS = 10_000;

async function firstPaints(browser: Browser, url: string, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const page = await browser.newPage();
    await page.goto(url);
    const fcp = await page.waitForFunction(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
      null,
      { timeout: 30_000 },
    );
    out.push(Number(await fcp.jsonValue()));
    await page.close();
  }
  return out;
}

/** CPU (user + system) the process spent over `ms`, in ms. */
async function cpuOver(ms: number): Promise<number> {
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000;
}

const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'warn', NODE_ENV: 'development' });

/** A gateway with the simulator sending to it. */
async function startWithSimulator(dashboard: boolean) {
  const env = { ...process.env, PORT: '0', LOG_LEVEL: 'warn', NODE_ENV: 'development', DASHBOARD: String(dashboard) };
  const c = loadConfig(env);
  const gw = createGateway({ config: c, logger: createLogger(c, 'bench-dashboard') });
  const { url } = await gw.start();
  const sim = createSimulator({
    users: 3,
    rate: 1,
    thresholds: config.flink.alerts,
    windowSeconds: config.flink.windowSeconds,
    rawBadEverySeconds: 0,
    send: createIngestClient({ url }),
    print: () => undefined,
  });
  await sim.start();
  return {
    url,
    async stop() {
      await sim.stop();
      await gw.stop();
    },
  };
}

// Without the dashboard: what the gateway and the simulator cost on their own.
const plain = await startWithSimulator(false);
await new Promise((r) => setTimeout(r, 3_000));
const withoutDashboard = await cpuOver(IDLE_MS);
await plain.stop();

const served = await startWithSimulator(true);
const url = served.url;
const origin = new URL(url).origin;
await new Promise((r) => setTimeout(r, 3_000));

// The baseline: the same bytes of HTML, script and style from a server that does nothing else.
const [html, js, css] = await Promise.all(
  ['/', '/dashboard/app.js', '/dashboard/app.css'].map(async (p) =>
    Buffer.from(await (await fetch(origin + p)).arrayBuffer()),
  ),
);
const bare = createServer((req, res) => {
  const body = req.url === '/dashboard/app.js' ? js : req.url === '/dashboard/app.css' ? css : html;
  res.setHeader(
    'content-type',
    req.url?.endsWith('.js') ? 'text/javascript' : req.url?.endsWith('.css') ? 'text/css' : 'text/html',
  );
  res.end(body);
});
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;

const browser = await launchChromium();
const figures: Figure[] = [];
try {
  const dashboard = summarize(await firstPaints(browser, `${origin}/`, RUNS));
  const baseline = summarize(await firstPaints(browser, bareUrl, RUNS));
  figures.push({
    name: `first contentful paint of / (p50 of ${RUNS}, simulator running)`,
    figure: round(dashboard.p50, 0),
    unit: 'ms',
    baseline: round(baseline.p50, 0),
    baselineName: 'the same page and assets from a bare node:http server',
    ratio: round(dashboard.p50 / baseline.p50),
    better: 'lower',
    target: '< 1000 ms',
  });
  figures.push({
    name: `first contentful paint of / (p99 of ${RUNS})`,
    figure: round(dashboard.p99, 0),
    unit: 'ms',
    baseline: round(baseline.p99, 0),
    baselineName: 'bare node:http server',
    ratio: round(dashboard.p99 / baseline.p99),
    better: 'lower',
  });

  // The simulator's own sends run in this process too: every window includes them equally.
  const idle = await cpuOver(IDLE_MS);
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  const open = await cpuOver(IDLE_MS);
  await page.close();
  figures.push({
    name: 'process CPU over 10 s, simulator running, dashboard served, no page open',
    figure: round(idle, 0),
    unit: 'ms',
    baseline: round(withoutDashboard, 0),
    baselineName: 'the same with DASHBOARD=false',
    ratio: round(idle / withoutDashboard),
    better: 'lower',
    target: 'no measurable difference',
  });
  figures.push({
    name: 'process CPU over 10 s, simulator running, the fleet page open (polling)',
    figure: round(open, 0),
    unit: 'ms',
    baseline: round(idle, 0),
    baselineName: 'no page open',
    ratio: round(open / idle),
    better: 'lower',
  });
} finally {
  await browser.close();
  await served.stop();
  bare.close();
}

console.log(writeResult({ bench: 'dashboard', mode: mode(), figures }));
for (const f of figures)
  console.log(
    `${f.name}: ${f.figure} ${f.unit}${f.baseline !== undefined ? ` (baseline ${f.baseline}, ratio ${f.ratio})` : ''}`,
  );
process.exit(0);
