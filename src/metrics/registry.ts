/**
 * Helpers over prom-client shared by the gateway's and the worker's metrics. Every process builds
 * its own Registry (never prom-client's global one), so tests can run several gateways and workers
 * in one Node process without their series colliding.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { pathOf } from '../http/request-target.js';
import { uncaughtTotals } from '../process/fault-scope.js';

export function createRegistry(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  // Process CPU, memory, event-loop lag and GC, standard names (process_*, nodejs_*).
  collectDefaultMetrics({ register: registry });
  totalsCounter(
    registry,
    'fitbit_uncaught_errors_total',
    'Errors thrown by a request, socket or timer callback (or promises nobody awaited) that the serving process caught, logged with the request id and survived, by kind (exception, rejection).',
    ['kind'],
    uncaughtTotals,
  );
  return registry;
}

/**
 * A counter whose value is read from a running total kept elsewhere (a service's stats()) at
 * scrape time. It is a Prometheus counter, so rate() and increase() work on it; the source total
 * only ever grows for the life of the process, as a counter must.
 */
export function totalsCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => ReadonlyArray<[Partial<Record<L, string>>, number]>,
): Counter<L> {
  return new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels as Record<L, string>, value);
    },
  });
}

/** A gauge read at scrape time. */
export function readGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () =>
    ReadonlyArray<[Partial<Record<L, string>>, number]> | Promise<ReadonlyArray<[Partial<Record<L, string>>, number]>>,
): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const values = await read();
      this.reset();
      for (const [labels, value] of values) this.set(labels as Record<L, string>, value);
    },
  });
}

/** GET /metrics: the registry in Prometheus text format. */
export async function serveMetrics(
  registry: Registry,
  res: ServerResponse,
  onError: (err: unknown) => void,
): Promise<void> {
  try {
    const body = await registry.metrics();
    res.statusCode = 200;
    res.setHeader('content-type', registry.contentType);
    res.end(body);
  } catch (err) {
    onError(err);
    res.statusCode = 500;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('metrics collection failed\n');
  }
}

/** Requests that never reach a route of ours are labelled by this, so junk paths cannot add series. */
export const OTHER_ROUTE = 'other';

export function routeLabel(req: IncomingMessage, known: ReadonlySet<string>): string {
  const path = pathOf(req.url);
  return path !== undefined && known.has(path) ? path : OTHER_ROUTE;
}

/** Longest label value taken from a client (an operation name); longer ones are counted as OTHER_ROUTE. */
export const MAX_CLIENT_LABEL_LENGTH = 64;

/**
 * Label values that come from clients: at most `maxValues` distinct ones, each a GraphQL name of
 * at most MAX_CLIENT_LABEL_LENGTH characters; anything else is 'other'. Without this, one client
 * sending megabyte-long or ever-new operation names grows /metrics (and the memory behind it)
 * without bound.
 */
export function boundedLabels(maxValues: number, maxLength = MAX_CLIENT_LABEL_LENGTH): (value: string) => string {
  const seen = new Set<string>();
  const name = /^[_A-Za-z][_0-9A-Za-z]*$/;
  return (value) => {
    if (seen.has(value)) return value;
    if (value.length > maxLength || !name.test(value) || seen.size >= maxValues) return OTHER_ROUTE;
    seen.add(value);
    return value;
  };
}
