/** Variables coerced once, by generated code, have graphql-js's values; and are coerced only once per request. */
import 'reflect-metadata';
import { getOperationAST, getVariableValues, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildGatewaySchema } from '../../src/schema/build.js';
import { coerceVariables } from '../../src/execution/coerced-variables.js';

const schema = buildGatewaySchema();
const cases: [string, Record<string, unknown>][] = [
  [
    'mutation($r:[ReadingInput!]!){ingestReadings(readings:$r){accepted}}',
    {
      r: [
        {
          userId: 'u-1',
          metric: 'HEART_RATE',
          time: '2026-12-05T10:00:00.000Z',
          value: 61.5,
          deviceId: 'd',
          eventId: 7,
        },
        { userId: 42, metric: 'STEPS', time: '2026-12-05T10:00:00+01:00', value: 3 },
      ],
    },
  ],
  [
    'mutation($u:ID!,$d:String,$t:[DateTime!]!,$v:[Float!]!){ingestSeries(userId:$u,metric:HEART_RATE,deviceId:$d,times:$t,values:$v){accepted}}',
    { u: 'u-2', d: null, t: ['2026-12-05T10:00:00.000Z', '2026-12-05T10:00:01.000Z'], v: [1, 2.5] },
  ],
  [
    'query($u:ID!,$from:DateTime!,$to:DateTime!,$b:Bucket=MINUTE){series(userId:$u,metric:HEART_RATE,from:$from,to:$to,bucket:$b){time avg}}',
    { u: 'u-3', from: '2026-12-04T00:00:00Z', to: '2026-12-05T00:00:00Z' },
  ],
];

describe('coerced variables', () => {
  it("equal graphql-js's coercion for variables that fit", () => {
    for (const [text, raw] of cases) {
      const operation = getOperationAST(parse(text))!;
      const ours = coerceVariables(schema, operation, raw);
      const theirs = getVariableValues(schema, operation.variableDefinitions ?? [], raw);
      expect(ours.errors, text).toBeUndefined();
      expect(ours.coerced, text).toEqual(theirs.coerced);
    }
  });

  it('report variables that do not fit as errors, as graphql-js does', () => {
    const operation = getOperationAST(parse(cases[0]![0]))!;
    for (const raw of [{}, { r: [{ userId: 'u', metric: 'NOPE', time: 'x', value: 1 }] }, { r: [{ userId: 'u' }] }]) {
      expect(coerceVariables(schema, operation, raw).errors?.length, JSON.stringify(raw)).toBeGreaterThan(0);
      expect(getVariableValues(schema, operation.variableDefinitions ?? [], raw).errors?.length).toBeGreaterThan(0);
    }
  });

  it('coerce a request once: the same raw variables give the same result object', () => {
    const operation = getOperationAST(parse(cases[1]![0]))!;
    const raw = { ...cases[1]![1] };
    expect(coerceVariables(schema, operation, raw)).toBe(coerceVariables(schema, operation, raw));
    expect(coerceVariables(schema, operation, { ...raw })).not.toBe(coerceVariables(schema, operation, raw));
  });
});
