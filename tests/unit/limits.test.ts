/** Document limits (depth, aliases, operations), the cost model and the token bucket. */
import { describe, expect, it } from 'vitest';
import { parse, specifiedRules, validate } from 'graphql';
import { buildGatewaySchema } from '../../src/schema/build.js';
import {
  aliasLimitRule,
  checkCost,
  depthLimitRule,
  operationCost,
  operationLimitRule,
  RateLimiter,
} from '../../src/limits/index.js';
import { costDependsOnVariables, TRINO_QUERY_COST } from '../../src/limits/cost.js';

const schema = buildGatewaySchema();
const codes = (query: string, rule: ReturnType<typeof depthLimitRule>) =>
  validate(schema, parse(query), [...specifiedRules, rule]).map((e) => e.extensions['code'] ?? 'GRAPHQL');

describe('depth limit', () => {
  it('counts field nesting through fragments, not introspection', () => {
    const q = '{ users(ids: ["a"]) { id latest(metric: STEPS) { value } } }'; // depth 3
    expect(codes(q, depthLimitRule(3))).toEqual([]);
    expect(codes(q, depthLimitRule(2))).toEqual(['QUERY_TOO_DEEP']);
    const viaFragment = 'query { users(ids: ["a"]) { ...F } } fragment F on User { latest(metric: STEPS) { value } }';
    expect(codes(viaFragment, depthLimitRule(2))).toEqual(['QUERY_TOO_DEEP']);
    const introspection = '{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }';
    expect(codes(introspection, depthLimitRule(2))).toEqual([]);
  });

  it('survives fragment cycles and hostile nesting without blowing up', () => {
    const cyc = 'query { users(ids: ["a"]) { ...A } } fragment A on User { id ...B } fragment B on User { ...A }';
    const errors = codes(cyc, depthLimitRule(5));
    expect(errors).not.toContain('QUERY_TOO_DEEP');
    expect(errors.length).toBeGreaterThan(0); // graphql-js reports the cycle
    const deep = '{ ' + 'users(ids: ["a"]) { '.repeat(500) + 'id' + ' }'.repeat(500) + ' }';
    expect(codes(deep, depthLimitRule(10))).toContain('QUERY_TOO_DEEP');
  });
});

describe('aliases and operations', () => {
  it('caps aliased fields per document', () => {
    const q = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: health { name }`).join(' ')} }`;
    expect(codes(q(3), aliasLimitRule(3))).toEqual([]);
    expect(codes(q(4), aliasLimitRule(3))).toEqual(['TOO_MANY_ALIASES']);
  });

  it('caps operations per document', () => {
    const q = (n: number) => Array.from({ length: n }, (_, i) => `query Q${i} { health { name } }`).join('\n');
    expect(codes(q(2), operationLimitRule(2))).toEqual([]);
    expect(codes(q(3), operationLimitRule(2))).toEqual(['TOO_MANY_OPERATIONS']);
  });
});

describe('cost', () => {
  const cost = (query: string, variables?: Record<string, unknown>) =>
    operationCost(schema, parse(query), variables, undefined);
  const day = 'from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z"';

  it('grows with the buckets in the range', () => {
    expect(cost(`{ series(userId: "u", metric: STEPS, ${day}, bucket: HOUR) { sum } }`)).toBe(24);
    expect(cost(`{ series(userId: "u", metric: STEPS, ${day}, bucket: MINUTE) { sum } }`)).toBe(1440);
    // A Trino aggregate also costs its query (TRINO_QUERY_COST), beyond the buckets it returns.
    expect(cost(`{ cohortStats(metric: STEPS, ${day}, bucket: SECOND) { p50 } }`)).toBe(86_400 + TRINO_QUERY_COST);
  });

  it('prices seriesColumns as the series it answers: one per bucket, however many columns', () => {
    const columns = '{ times count avg min max sum filled }';
    for (const [range, bucket] of [
      [day, 'HOUR'],
      [day, 'MINUTE'],
    ]) {
      const points = cost(`{ series(userId: "u", metric: STEPS, ${range}, bucket: ${bucket}) { time avg } }`);
      expect(cost(`{ seriesColumns(userId: "u", metric: STEPS, ${range}, bucket: ${bucket}) ${columns} }`)).toBe(
        points,
      );
    }
    expect(cost(`{ seriesColumns(userId: "u", metric: STEPS, ${day}, bucket: MINUTE) { avg } }`)).toBe(1440);
    const q = parse(`{ seriesColumns(userId: "u", metric: STEPS, ${day}, bucket: SECOND) { avg } }`);
    expect(operationCost(schema, q, undefined, undefined, 10_001)).toBe(10_001);
    const year = 'from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z"';
    expect(cost(`{ seriesColumns(userId: "u", metric: STEPS, ${year}, bucket: MINUTE, maxPoints: 500) { avg } }`)).toBe(
      500,
    );
    const ids = JSON.stringify(Array.from({ length: 10 }, (_, i) => `u${i}`));
    expect(cost(`{ users(ids: ${ids}) { seriesColumns(metric: STEPS, ${day}, bucket: HOUR) { avg } } }`)).toBe(
      10 * (1 + 24),
    );
  });

  it('reads variables', () => {
    const q =
      'query($f: DateTime!, $t: DateTime!) { series(userId: "u", metric: STEPS, from: $f, to: $t, bucket: MINUTE) { sum } }';
    expect(cost(q, { f: '2026-01-01T00:00:00Z', t: '2026-01-01T01:00:00Z' })).toBe(60);
    // Variables that do not fit: left to execution, which reports them with their own code.
    expect(cost(q, { f: 'yesterday', t: 3 })).toBeUndefined();
  });

  it('grows with list sizes (ids, first, limit) and multiplies through nesting', () => {
    expect(cost(`{ readings(userId: "u", metric: STEPS, ${day}, first: 500) { nodes { value } } }`)).toBe(500 * 2);
    expect(cost(`{ readings(userId: "u", metric: STEPS, ${day}) { nodes { value } } }`)).toBe(100 * 2);
    expect(cost(`{ leaderboard(metric: STEPS, ${day}, limit: 50) { rank } }`)).toBe(TRINO_QUERY_COST + 50);
    expect(cost(`{ leaderboard(metric: STEPS, ${day}) { rank } }`)).toBe(TRINO_QUERY_COST + 10);
    const ids = JSON.stringify(Array.from({ length: 100 }, (_, i) => `u${i}`));
    expect(cost(`{ users(ids: ${ids}) { id series(metric: STEPS, ${day}, bucket: HOUR) { sum } } }`)).toBe(
      100 * (1 + 24),
    );
    expect(cost('{ health { name } }')).toBe(10);
  });

  it('counts buckets up to the per-series point limit', () => {
    const q = parse(`{ series(userId: "u", metric: STEPS, ${day}, bucket: SECOND) { sum } }`);
    expect(operationCost(schema, q, undefined, undefined, 10_001)).toBe(10_001);
  });

  it('counts a downsampled series at its maxPoints', () => {
    const year = 'from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z"';
    const q = parse(`{ series(userId: "u", metric: STEPS, ${year}, bucket: MINUTE, maxPoints: 500) { sum } }`);
    expect(operationCost(schema, q, undefined, undefined, 10_001)).toBe(500);
    expect(cost(`{ series(userId: "u", metric: STEPS, ${day}, bucket: HOUR, maxPoints: 500) { sum } }`)).toBe(24);
    expect(
      costDependsOnVariables(
        parse(
          'query($m: Int) { series(userId: "u", metric: STEPS, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", bucket: HOUR, maxPoints: $m) { sum } }',
        ),
      ),
    ).toBe(true);
  });

  it('knows which documents can change cost with their variables', () => {
    const depends = (q: string) => costDependsOnVariables(parse(q));
    expect(depends('query($id: ID!) { user(id: $id) { latest(metric: HEART_RATE) { value } } }')).toBe(false);
    expect(depends('query($m: Metric!) { user(id: "u") { latest(metric: $m) { value } } }')).toBe(false);
    expect(
      depends(
        `query($f: DateTime!) { series(userId: "u", metric: STEPS, from: $f, to: "2026-01-02T00:00:00Z", bucket: HOUR) { sum } }`,
      ),
    ).toBe(true);
    expect(depends('query($ids: [ID!]!) { users(ids: $ids) { id } }')).toBe(true);
    expect(depends('query($i: ID!) { users(ids: ["a", $i]) { id } }')).toBe(true);
    expect(depends('query($s: Boolean!) { health @skip(if: $s) { name } }')).toBe(true);
    expect(depends('query($s: Boolean!) { ...F } fragment F on Query { health @include(if: $s) { name } }')).toBe(true);
  });

  it('remembers documents that pass whatever their variables, and only those', () => {
    const reads = parse('query($id: ID!) { user(id: $id) { latest(metric: HEART_RATE) { value } } }');
    expect(checkCost(schema, reads, { id: 'a' }, undefined, 10)).toBeUndefined();
    expect(checkCost(schema, reads, { id: 'b' }, undefined, 10)).toBeUndefined();
    expect(checkCost(schema, reads, { id: 'b' }, undefined, 1)?.extensions['code']).toBe('QUERY_TOO_COMPLEX');
    const q = parse(
      'query($f: DateTime!, $t: DateTime!) { series(userId: "u", metric: STEPS, from: $f, to: $t, bucket: MINUTE) { sum } }',
    );
    expect(
      checkCost(schema, q, { f: '2026-01-01T00:00:00Z', t: '2026-01-01T01:00:00Z' }, undefined, 100),
    ).toBeUndefined();
    expect(
      checkCost(schema, q, { f: '2026-01-01T00:00:00Z', t: '2026-01-02T00:00:00Z' }, undefined, 100)?.extensions[
        'code'
      ],
    ).toBe('QUERY_TOO_COMPLEX');
    const fixed = parse(`{ series(userId: "u", metric: STEPS, ${day}, bucket: MINUTE) { sum } }`);
    for (let i = 0; i < 2; i += 1) {
      expect(checkCost(schema, fixed, undefined, undefined, 100)?.extensions['code']).toBe('QUERY_TOO_COMPLEX');
      expect(checkCost(schema, fixed, undefined, undefined, 2000)).toBeUndefined();
    }
  });

  it('counts aliases separately', () => {
    const one = `series(userId: "u", metric: STEPS, ${day}, bucket: MINUTE) { sum }`;
    expect(cost(`{ a: ${one} b: ${one} c: ${one} }`)).toBe(3 * 1440);
  });
});

describe('rate limiter', () => {
  it('allows a burst, then refuses with the seconds until a token is back', () => {
    let now = 0;
    const rl = new RateLimiter(2, 4, () => now);
    for (let i = 0; i < 4; i += 1) expect(rl.take('s').ok).toBe(true);
    expect(rl.take('s')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(rl.take('other').ok).toBe(true); // per subject
    now += 500; // one token back
    expect(rl.take('s').ok).toBe(true);
    expect(rl.take('s').ok).toBe(false);
    now += 10_000;
    for (let i = 0; i < 4; i += 1) expect(rl.take('s').ok).toBe(true); // refilled to the burst, no more
    expect(rl.take('s').ok).toBe(false);
  });

  it('is off at 0 and forgets idle subjects', () => {
    expect(new RateLimiter(0, 10).take('x').ok).toBe(true);
    let now = 0;
    const rl = new RateLimiter(100, 10, () => now);
    for (let i = 0; i < 2000; i += 1) rl.take(`s${i}`);
    expect(rl.size).toBe(2000);
    now += 60_000;
    rl.take('fresh');
    expect(rl.size).toBe(1);
  });

  it('retryAfter grows with the deficit at slow rates', () => {
    const now = 0;
    const rl = new RateLimiter(0.1, 1, () => now);
    expect(rl.take('s').ok).toBe(true);
    expect(rl.take('s').retryAfterSeconds).toBe(10);
  });
});
