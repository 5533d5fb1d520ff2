/**
 * The operation pipeline on its own (src/operation/pipeline.ts): the policies between validation
 * and execution, in their order, with the transport's part told apart only where a transport has
 * one (subscriptions over HTTP, subscriptions per connection, when the rate is charged). The
 * transports over it are tested in gateway-pipeline.test.ts.
 */
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Principal, Role } from '../../src/auth/principal.js';
import { protectSchema } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config.js';
import { createLimits } from '../../src/limits/index.js';
import type { OperationRecord } from '../../src/metrics/operation.recorder.js';
import { createOperationPipeline, type Caller } from '../../src/operation/pipeline.js';
import { buildGatewaySchema } from '../../src/schema/build.js';

const principal = (subject: string, ...roles: Role[]): Principal => ({
  subject,
  roles: new Set(roles),
  users: [],
  expiresAt: undefined,
  development: false,
});

function pipelineWith(env: Record<string, string> = {}) {
  const config = loadConfig({ GRAPHQL_MAX_DEPTH: '3', ...env });
  const records: OperationRecord[] = [];
  const pipeline = createOperationPipeline({
    schema: protectSchema(buildGatewaySchema()),
    limits: createLimits(config.limits, config.postgres.seriesMaxPoints),
    maxTokens: 200,
    introspection: false,
    hotFields: new Set(['Query.series']),
    errorFormat: { development: false, hideSchemaDetails: true },
    record: (r) => records.push(r),
  });
  return { pipeline, records };
}

const codes = (errors: readonly { extensions: Record<string, unknown> }[] | undefined) =>
  (errors ?? []).map((e) => e.extensions['code']);

const INGEST = `mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted } }`;
const reading = (userId: string) => ({ userId, metric: 'STEPS', time: '2026-01-01T00:00:00Z', value: 1 });
const ws = (p: Principal, openSubscriptions = 1): Caller => ({ transport: 'ws', principal: p, openSubscriptions });
const http = (p: Principal): Caller => ({ transport: 'http', principal: p });

describe('the operation pipeline', () => {
  it('validates with the document limits and no introspection, and keeps one document per text', () => {
    const { pipeline } = pipelineWith();
    const deep = pipeline.document('{ pipelineStatus { consumerGroups { partitions { lag } } } }');
    expect(Array.isArray(deep) && codes(deep as never)).toEqual(['QUERY_TOO_DEEP']);
    const schemaAsked = pipeline.document('{ __schema { types { name } } }');
    expect(Array.isArray(schemaAsked) && new Set(codes(schemaAsked as never))).toEqual(
      new Set(['GRAPHQL_VALIDATION_FAILED']),
    );
    const long = pipeline.document(`{ ${'health { name } '.repeat(100)} }`);
    expect(Array.isArray(long) && codes(long as never)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(pipeline.document('{ health { name } }')).toBe(pipeline.document('{ health { name } }'));
  });

  it('refuses a mutation for another user before anything runs, with the status HTTP answers with', () => {
    const { pipeline } = pipelineWith();
    const refusal = pipeline.admit(
      parse(INGEST),
      { variables: { r: [reading('bob')] } },
      http(principal('alice', 'device')),
    );
    expect(codes(refusal?.errors)).toEqual(['FORBIDDEN']);
    expect(refusal?.status).toBe(403);
    expect(
      pipeline.admit(parse(INGEST), { variables: { r: [reading('alice')] } }, http(principal('alice', 'device'))),
    ).toBe(undefined);
  });

  it('refuses subscriptions over HTTP, and more subscriptions on a connection than allowed', () => {
    const { pipeline } = pipelineWith({ LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' });
    const sub = parse('subscription { alerts { alertId } }');
    const admin = principal('ops', 'admin');
    expect(codes(pipeline.admit(sub, {}, http(admin))?.errors)).toEqual(['OPERATION_NOT_SUPPORTED']);
    expect(pipeline.admit(sub, {}, ws(admin, 2))).toBe(undefined);
    expect(codes(pipeline.admit(sub, {}, ws(admin, 3))?.errors)).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
  });

  it('charges graphql-ws operations to the subject, and leaves HTTP to the request', () => {
    const { pipeline } = pipelineWith({ RATE_LIMIT_PER_SECOND: '0.001', RATE_LIMIT_BURST: '2' });
    const query = parse('{ health { name } }');
    const analyst = principal('counted', 'analyst');
    // HTTP requests are charged on arrival by the adapter: admitting them takes nothing.
    for (let i = 0; i < 5; i += 1) expect(pipeline.admit(query, {}, http(analyst))).toBe(undefined);
    expect(pipeline.admit(query, {}, ws(analyst))).toBe(undefined);
    expect(pipeline.admit(query, {}, ws(analyst))).toBe(undefined);
    const refused = pipeline.admit(query, {}, ws(analyst));
    expect(codes(refused?.errors)).toEqual(['RATE_LIMITED']);
    expect(refused?.status).toBe(429);
  });

  it('answers variables that do not fit with BAD_USER_INPUT and graphql-js words, before the cost', () => {
    const { pipeline } = pipelineWith();
    const refused = pipeline.admit(
      parse(INGEST),
      { variables: { r: [{ ...reading('ops'), value: 'many' }] } },
      http(principal('ops', 'admin')),
    );
    expect(codes(refused?.errors)).toEqual(['BAD_USER_INPUT']);
    expect(refused?.errors[0]?.message).toContain('Variable "$r" got invalid value');
    expect(refused?.status).toBe(400);
  });

  it('prices the operation last', () => {
    const { pipeline } = pipelineWith({ GRAPHQL_MAX_COST: '100' });
    const refused = pipeline.admit(
      parse(
        '{ series(userId: "ops", metric: STEPS, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", bucket: MINUTE) { avg } }',
      ),
      {},
      http(principal('ops', 'admin')),
    );
    expect(codes(refused?.errors)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('masks unknown errors and keeps coded ones, for every transport alike', () => {
    const { pipeline } = pipelineWith();
    const masked = pipeline.formatError({ message: 'connection to postgres://secret failed' }, new Error('x'));
    expect(masked).toEqual({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});
