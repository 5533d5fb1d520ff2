/**
 * The pure parts of the hardening: request targets, label bounds, strict timestamps and the
 * gateway/worker agreement, in-batch duplicates, message caps and schema hints, token claims,
 * aggregate privacy, the Trino query gate, the shared health probe, root-field authorisation before
 * execution, and the fault scope (in a child process, where an uncaught error is the real thing).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse, type GraphQLFormattedError } from 'graphql';
import { SignJWT } from 'jose';
import { parseRequestTarget } from '../../src/http/request-target.js';
import { boundedLabels, OTHER_ROUTE } from '../../src/metrics/registry.js';
import { checkFields, checkReading, parseRfc3339, toWire } from '../../src/domain/reading.js';
import { createIngestService } from '../../src/ingest/ingest.service.js';
import type { ReadingPublisher } from '../../src/ingest/reading.publisher.js';
import { type AppError, ErrorCode, formatError, MAX_MESSAGE_CHARS } from '../../src/errors.js';
import { loadConfig } from '../../src/config.js';
import { createTokenVerifier, loadVerifyKey } from '../../src/auth/verifier.js';
import { principalOf, protectSchema } from '../../src/auth/protect-schema.js';
import { createAggregatePrivacy } from '../../src/auth/privacy.js';
import { authorizeOperation } from '../../src/auth/authorize-operation.js';
import type { Principal } from '../../src/auth/principal.js';
import { createQueryGate } from '../../src/trino/query-gate.js';
import { type TrinoError } from '../../src/trino/trino.errors.js';
import { createHealthService } from '../../src/health/health.service.js';
import { buildGatewaySchema } from '../../src/schema/build.js';
import { principal } from '../helpers/principal.js';

describe('request targets', () => {
  it('reads every target Node accepts without throwing; `//x` is a path, never a host', () => {
    expect(() => new URL('//[', 'http://localhost')).toThrow(); // the crash this replaces
    expect(parseRequestTarget('//[')).toEqual({ pathname: '//[', search: '' });
    expect(parseRequestTarget('//evil.example/graphql')?.pathname).toBe('//evil.example/graphql');
    expect(parseRequestTarget('/graphql?query=%7B')).toEqual({ pathname: '/graphql', search: '?query=%7B' });
    expect(parseRequestTarget('http://localhost:4000/metrics')?.pathname).toBe('/metrics');
    for (const bad of ['http://[', 'https://[::1', '*', 'localhost:4000', 'file:///etc/passwd', 'javascript:1'])
      expect(parseRequestTarget(bad), bad).toBeUndefined();
    expect(parseRequestTarget(undefined)?.pathname).toBe('/');
  });
});

describe('label values from clients', () => {
  it('keeps short GraphQL names up to a number of them; long, odd and later ones are "other"', () => {
    const label = boundedLabels(3);
    expect(label('Dashboard')).toBe('Dashboard');
    expect(label('x'.repeat(1024 * 1024))).toBe(OTHER_ROUTE);
    expect(label('a b')).toBe(OTHER_ROUTE);
    expect(label('Two')).toBe('Two');
    expect(label('Three')).toBe('Three');
    expect(label('Four')).toBe(OTHER_ROUTE);
    expect(label('Dashboard')).toBe('Dashboard');
  });
});

describe('timestamps: what the gateway accepts, the worker stores', () => {
  const now = Date.parse('2026-11-29T12:00:00Z');

  it('refuses impossible calendar dates and clock times instead of moving them', () => {
    for (const t of [
      '2024-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2026-01-01T23:59:60Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00+01:60',
    ])
      expect(parseRfc3339(t), t).toBeNaN();
    expect(new Date(parseRfc3339('2024-02-29T23:59:59.999Z')).toISOString()).toBe('2024-02-29T23:59:59.999Z');
    expect(new Date(parseRfc3339('2026-03-01T00:30:00+01:00')).toISOString()).toBe('2026-02-28T23:30:00.000Z');
    expect(new Date(parseRfc3339('2026-01-01T00:00:00.123456789Z')).toISOString()).toBe('2026-01-01T00:00:00.123Z');
    expect(new Date(parseRfc3339('2026-01-01T00:00:00.5-00:30')).toISOString()).toBe('2026-01-01T00:30:00.500Z');
  });

  it('never acknowledges a reading the worker would refuse: every accepted time survives the wire', () => {
    const times = [
      '0000-01-01T00:30:00+01:00',
      '0001-01-01T00:00:00Z',
      '1969-12-31T23:59:59.999Z',
      '1970-01-01T00:00:00Z',
      '1970-01-01T00:30:00+01:00',
      '2026-11-29T12:04:59Z',
      '2026-11-29T12:05:01Z',
      '9999-12-31T23:59:59Z',
      '2026-06-30T23:59:59.9999Z',
    ];
    const verdicts = times.map((time) => {
      const ms = parseRfc3339(time);
      if (Number.isNaN(ms)) return 'unparsed';
      const gateway = checkFields('u1', 'heart_rate', ms, 70, undefined, undefined, now);
      if (!gateway.ok) return gateway.code;
      // What the worker reads from Kafka, a little later.
      const wire = JSON.parse(JSON.stringify(toWire(gateway.reading, 'e1'))) as unknown;
      const worker = checkReading(wire, now + 60_000);
      expect(worker.ok, `${time} accepted by the gateway, refused by the worker`).toBe(true);
      return 'stored';
    });
    expect(verdicts).toEqual([
      ErrorCode.INVALID_TIME,
      ErrorCode.INVALID_TIME,
      ErrorCode.INVALID_TIME,
      'stored',
      ErrorCode.INVALID_TIME,
      'stored',
      ErrorCode.TIME_IN_FUTURE,
      ErrorCode.TIME_IN_FUTURE,
      'stored',
    ]);
  });
});

describe('in-batch duplicates', () => {
  it('accepts both, publishes the first, and says how many were folded', async () => {
    const published: number[] = [];
    const publisher = {
      publish: async (readings: { timeMs: number; value: number }[]) => {
        published.push(...readings.map((r) => r.value));
      },
    } as unknown as ReadingPublisher;
    const service = createIngestService({ publisher, maxReadings: 100, now: () => Date.parse('2026-01-02T00:00:00Z') });
    const r = (time: string, value: number, metric = 'heart_rate', userId = 'u1') => ({
      userId,
      metric,
      time: new Date(parseRfc3339(time)),
      value,
    });
    const outcome = await service.ingest([
      r('2026-01-01T00:00:00.0004Z', 60),
      r('2026-01-01T00:00:00.0009Z', 61), // same millisecond: the same identity
      r('2026-01-01T00:00:00.001Z', 62),
      r('2026-01-01T00:00:00.000Z', 63, 'steps'),
      r('2026-01-01T00:00:00.000Z', 64, 'heart_rate', 'u2'),
      r('2026-01-01T00:00:00.000Z', 999), // out of range: rejected, not a duplicate
      r('2026-01-01T00:00:00.000Z', 65),
    ]);
    expect(outcome.accepted).toBe(6);
    expect(outcome.duplicates).toBe(2);
    expect(outcome.rejected.map((x) => x.index)).toEqual([5]);
    expect(published).toEqual([60, 62, 63, 64]);
    expect(outcome.accepted - outcome.duplicates).toBe(published.length);
  });
});

describe('error messages', () => {
  const options = { development: false, hideSchemaDetails: true };
  it('cap what they echo, and leave out schema hints when introspection is off', () => {
    const huge = 'x'.repeat(2 * 1024 * 1024);
    const unknown: GraphQLFormattedError = {
      message: `Unknown operation named "${huge}".`,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    };
    const shown = formatError(unknown, undefined, options);
    expect(shown.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS + 20);
    expect(shown.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const hint: GraphQLFormattedError = {
      message: 'Cannot query field "seris" on type "Query". Did you mean "series"?',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    };
    expect(formatError(hint, undefined, options).message).toBe('Cannot query field "seris" on type "Query".');
    expect(formatError(hint, undefined, { ...options, hideSchemaDetails: false }).message).toContain('Did you mean');
  });

  it('quote a foreign user id in a refusal without echoing all of it', () => {
    const schema = protectSchema(buildGatewaySchema());
    const device = principal('dev-1', ['device']);
    const userId = 'u'.repeat(2 * 1024 * 1024);
    const refused = authorizeOperation(
      schema,
      parse('mutation M($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted } }'),
      'M',
      { r: [{ userId, metric: 'STEPS', time: '2026-01-01T00:00:00Z', value: 1 }] },
      device,
    );
    expect(refused?.code).toBe(ErrorCode.FORBIDDEN);
    expect(refused!.message.length).toBeLessThan(200);
  });
});

describe('tokens', () => {
  const SECRET = 'unit-secret-0123456789-abcdefghijklmnop';
  const key = new TextEncoder().encode(SECRET);
  const auth = (env: Record<string, string> = {}) =>
    loadConfig({ LOG_LEVEL: 'silent', AUTH_JWT_SECRET: SECRET, ...env }).auth;
  const reasonOf = async (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e: AppError) => `${String(e.extensions['code'])}:${String(e.extensions['reason'])}`,
    );
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses a token without exp, or issued in the future, unless configured', async () => {
    const noExp = await new SignJWT({ roles: ['user'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuedAt(now())
      .sign(key);
    const future = await new SignJWT({ roles: ['user'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuedAt(now() + 3600)
      .setExpirationTime(now() + 7200)
      .sign(key);
    const strict = createTokenVerifier(auth(), loadVerifyKey(auth())!);
    expect(await reasonOf(strict.verify(`Bearer ${noExp}`))).toBe('UNAUTHENTICATED:claims');
    expect(await reasonOf(strict.verify(`Bearer ${future}`))).toBe('UNAUTHENTICATED:claims');
    const lax = auth({ AUTH_REQUIRE_EXP: 'false', AUTH_ACCEPT_FUTURE_IAT: 'true' });
    const relaxed = createTokenVerifier(lax, loadVerifyKey(lax)!);
    expect(await reasonOf(relaxed.verify(`Bearer ${noExp}`))).toBe('accepted');
    expect(await reasonOf(relaxed.verify(`Bearer ${future}`))).toBe('accepted');
  });

  it('a token inside the clock tolerance is valid for the whole request, not refused by the field guard', async () => {
    const justExpired = await new SignJWT({ roles: ['user'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuedAt(now() - 60)
      .setExpirationTime(now() - 2)
      .sign(key);
    const v = createTokenVerifier(auth(), loadVerifyKey(auth())!);
    const p = await v.verify(`Bearer ${justExpired}`);
    expect(() => principalOf({ principal: p })).not.toThrow();
    expect(() => principalOf({ principal: p }, Date.now() + 10_000)).toThrow(/expired/);
  });
});

describe('aggregate privacy', () => {
  const privacy = createAggregatePrivacy({ minRangeMs: 3_600_000, minCohortUsers: 3 });
  const analyst = principal('a', ['analyst']);
  const admin = principal('root', ['admin']);
  const at = (iso: string) => new Date(iso);

  it('refuses short ranges to roles other than admin', () => {
    const from = at('2026-01-01T00:00:00Z');
    const refusal = (() => {
      try {
        privacy.checkRange(analyst, from, at('2026-01-01T00:00:00.001Z'));
      } catch (err) {
        return (err as AppError).code;
      }
      return 'allowed';
    })();
    expect(refusal).toBe(ErrorCode.RANGE_TOO_SHORT);
    expect(() => privacy.checkRange(analyst, from, at('2026-01-01T01:00:00Z'))).not.toThrow();
    expect(() => privacy.checkRange(admin, from, at('2026-01-01T00:00:00.001Z'))).not.toThrow();
    // Not in order: INVALID_RANGE is the validator's to say, not this rule's.
    expect(() => privacy.checkRange(analyst, from, from)).not.toThrow();
  });

  it('leaves out cohort buckets of fewer users for roles other than admin', () => {
    const points = [{ users: 1 }, { users: 2 }, { users: 3 }, { users: 40 }];
    expect(privacy.cohort(analyst, points)).toEqual([{ users: 3 }, { users: 40 }]);
    expect(privacy.cohort(admin, points)).toEqual(points);
  });
});

describe('Trino query gate', () => {
  it('runs at most N, queues M in order, refuses the rest with a retriable TRINO_BUSY', async () => {
    const gate = createQueryGate({ maxRunning: 2, maxQueued: 2 });
    const releases: Array<() => void> = [];
    let peak = 0;
    let running = 0;
    const order: number[] = [];
    const query = (i: number) => () =>
      new Promise<number>((resolve) => {
        running += 1;
        peak = Math.max(peak, running);
        order.push(i);
        releases.push(() => {
          running -= 1;
          resolve(i);
        });
      });
    const results = Array.from({ length: 6 }, (_, i) =>
      gate.run(query(i)).then(
        (v) => `ok ${v}`,
        (e: TrinoError) => `${e.code} ${e.retriable}`,
      ),
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(gate.stats()).toEqual({ running: 2, queued: 2, refused: 2 });
    while (releases.length > 0 || gate.stats().running > 0) {
      releases.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await Promise.all(results)).toEqual(['ok 0', 'ok 1', 'ok 2', 'ok 3', 'TRINO_BUSY true', 'TRINO_BUSY true']);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(gate.stats()).toEqual({ running: 0, queued: 0, refused: 2 });
  });

  it('lets a caller that gives up leave the queue', async () => {
    const gate = createQueryGate({ maxRunning: 1, maxQueued: 5 });
    let release!: () => void;
    const first = gate.run(() => new Promise<void>((r) => (release = r)));
    const ctrl = new AbortController();
    const second = gate.run(async () => 'ran', ctrl.signal).catch((e: TrinoError) => e.code);
    ctrl.abort();
    expect(await second).toBe('TRINO_CANCELLED');
    expect(gate.stats().queued).toBe(0);
    release();
    await first;
    expect(gate.stats().running).toBe(0);
  });
});

describe('health probe', () => {
  it('is shared by concurrent callers and reused briefly', async () => {
    let calls = 0;
    let t = 0;
    const health = createHealthService(
      [
        {
          name: 'kafka',
          check: async () => {
            calls += 1;
            await new Promise((r) => setTimeout(r, 20));
            return 'ok';
          },
        },
      ],
      { reuseMs: 1000, now: () => t },
    );
    const answers = await Promise.all(Array.from({ length: 30 }, () => health.check()));
    expect(calls).toBe(1);
    expect(new Set(answers.map((a) => a[0]!.latencyMs)).size).toBe(1);
    t = 500;
    await health.check();
    expect(calls).toBe(1);
    t = 1500;
    await health.check();
    expect(calls).toBe(2);
  });
});

describe('root fields authorised before any runs', () => {
  const schema = protectSchema(buildGatewaySchema());
  const device = principal('dev-1', ['device'], ['own']);
  const reading = (userId: string) => `{ userId: "${userId}", metric: STEPS, time: "2026-01-01T00:00:00Z", value: 1 }`;
  const authorize = (query: string, p: Principal, variables?: Record<string, unknown>) =>
    authorizeOperation(schema, parse(query), undefined, variables, p)?.code ?? 'allowed';

  it('refuses the whole mutation when any root field is refused, through aliases and fragments', () => {
    expect(
      authorize(
        `mutation { a: ingestReadings(readings: [${reading('own')}]) { accepted } b: ingestReadings(readings: [${reading('foreign')}]) { accepted } }`,
        device,
      ),
    ).toBe(ErrorCode.FORBIDDEN);
    expect(
      authorize(
        `mutation { a: ingestReadings(readings: [${reading('own')}]) { accepted } ...F } fragment F on Mutation { b: ingestReadings(readings: [${reading('foreign')}]) { accepted } }`,
        device,
      ),
    ).toBe(ErrorCode.FORBIDDEN);
    expect(
      authorize(
        `mutation { a: ingestReadings(readings: [${reading('own')}]) { accepted } b: ingestReadings(readings: [${reading('dev-1')}]) { accepted } }`,
        device,
      ),
    ).toBe('allowed');
  });

  it('honours @skip and @include, and reads variables', () => {
    const q = `mutation M($r: [ReadingInput!]!, $skip: Boolean!) { a: ingestReadings(readings: $r) @skip(if: $skip) { accepted } }`;
    const foreign = [{ userId: 'foreign', metric: 'STEPS', time: '2026-01-01T00:00:00Z', value: 1 }];
    expect(authorize(q, device, { r: foreign, skip: false })).toBe(ErrorCode.FORBIDDEN);
    expect(authorize(q, device, { r: foreign, skip: true })).toBe('allowed');
    // A query is left to the field guard: a refused field fails alone, the others answer.
    expect(
      authorize(
        '{ cohortStats(metric: STEPS, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", bucket: HOUR) { avg } }',
        device,
      ),
    ).toBe('allowed');
    expect(authorize('{ __typename }', device)).toBe('allowed');
  });
});

describe('fault scope', () => {
  it('keeps a serving process alive through a throwing callback, logged with its request id and counted', () => {
    const script = `
      import { installFaultScope, uncaughtTotals, withRequestScope } from './src/process/fault-scope.ts';
      import { pino } from 'pino';
      installFaultScope(pino({ base: null }));
      withRequestScope('req-123', () => setTimeout(() => { throw new Error('boom in a timer'); }, 5));
      Promise.reject(new Error('nobody awaited this'));
      setTimeout(() => { console.log('TOTALS ' + JSON.stringify(uncaughtTotals())); process.exit(0); }, 100);
    `;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out.status, out.stderr).toBe(0);
    const lines = out.stdout.split('\n').filter((l) => l.startsWith('{'));
    const logged = lines.map((l) => JSON.parse(l) as { requestId: string | null; kind: string; level: number });
    expect(logged.find((l) => l.kind === 'exception')).toMatchObject({ requestId: 'req-123', level: 50 });
    expect(logged.find((l) => l.kind === 'rejection')).toMatchObject({ requestId: null });
    expect(out.stdout).toContain('TOTALS [[{"kind":"exception"},1],[{"kind":"rejection"},1]]');
  });
});
