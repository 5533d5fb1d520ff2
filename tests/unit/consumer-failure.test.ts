import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/consumer/failure.js';
import { classifyDatabaseError } from '../../src/timescale/pg.failure.js';
import {
  INSERT_READINGS_SQL,
  insertParams,
  numberArrayLiteral,
  textArrayLiteral,
} from '../../src/consumer/readings.insert.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('classifyDatabaseError', () => {
  it.each([
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'unavailable'],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'unavailable'],
    [new Error('Connection terminated unexpectedly'), 'unavailable'],
    [new Error('timeout exceeded when trying to connect'), 'unavailable'],
    [new Error('Query read timeout'), 'unavailable'],
    [pgError('57P01', 'terminating connection due to administrator command'), 'unavailable'],
    [pgError('57P03', 'the database system is starting up'), 'unavailable'],
    [pgError('08006'), 'unavailable'],
    [pgError('53300', 'too many connections'), 'unavailable'],
    [pgError('40P01', 'deadlock detected'), 'unavailable'],
    [pgError('22P05', 'unsupported Unicode escape sequence'), 'data'],
    [pgError('22008', 'timestamp out of range'), 'data'],
    [pgError('23514', 'check constraint'), 'data'],
    [pgError('42P01', 'relation "readings" does not exist'), 'unknown'],
    [new Error('something else'), 'unknown'],
    [undefined, 'unknown'],
  ])('%s -> %s', (err, kind) => {
    expect(classifyDatabaseError(err)).toBe(kind);
  });
});

describe('backoffMs', () => {
  const policy = { initialMs: 200, maxMs: 10_000 };
  it('doubles from the first wait up to the cap, with at most half of each step random', () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(a, policy, () => 1))).toEqual([200, 400, 800, 1600]);
    expect([1, 2, 3, 4].map((a) => backoffMs(a, policy, () => 0))).toEqual([100, 200, 400, 800]);
    expect(backoffMs(10, policy, () => 1)).toBe(10_000);
    expect(backoffMs(1000, policy, () => 0.5)).toBe(7_500);
  });
});

describe('insert of a batch', () => {
  it('is one statement over column arrays, idempotent on the identity, that consults the erasure ledger', () => {
    expect(INSERT_READINGS_SQL).toMatch(
      /FROM unnest\(\$1::text\[\], \$2::text\[\], \$3::float8\[\], \$4::float8\[\], \$5::text\[\], \$6::text\[\], \$7::float8\[\]\)/,
    );
    expect(INSERT_READINGS_SQL).toMatch(/ON CONFLICT \(user_id, metric, time\) DO NOTHING/);
    // Erased after the message was appended (or, with no append time, after the reading's time): not stored.
    expect(INSERT_READINGS_SQL).toMatch(
      /NOT EXISTS \(\s*SELECT 1 FROM erasures z WHERE z\.user_id = x\.u AND z\.erased_at > to_timestamp\(coalesce\(x\.a, x\.t\) \/ 1000::float8\)/,
    );
    expect(INSERT_READINGS_SQL.split(';')).toHaveLength(1);
  });

  it('lays readings out as columns, optional fields as NULL', () => {
    const params = insertParams([
      { userId: 'a', metric: 'steps', timeMs: 1000, value: 5, deviceId: 'd', eventId: undefined },
      { userId: 'b', metric: 'spo2', timeMs: 2001, value: 97.5, deviceId: undefined, eventId: 'e' },
    ]);
    expect(params).toEqual([
      '{"a","b"}',
      '{"steps","spo2"}',
      '{1000,2001}',
      '{5,97.5}',
      '{"d",NULL}',
      '{NULL,"e"}',
      '{NULL,NULL}',
    ]);
  });

  it("carries each message's append time beside its reading, NULL when unknown", () => {
    const r = {
      userId: 'a',
      metric: 'steps',
      timeMs: 1000,
      value: 5,
      deviceId: undefined,
      eventId: undefined,
    } as const;
    expect(insertParams([r, r, r], [1_700_000_000_123, null])[6]).toBe('{1700000000123,NULL,NULL}');
  });

  it('quotes every text element and escapes quotes and backslashes only', () => {
    expect(textArrayLiteral(['NULL', 'a"b', 'c\\d', '{x, y}', undefined, ''])).toBe(
      '{"NULL","a\\"b","c\\\\d","{x, y}",NULL,""}',
    );
    expect(textArrayLiteral([])).toBe('{}');
    expect(numberArrayLiteral([-0.25, 1e21, 5e-7])).toBe('{-0.25,1e+21,5e-7}');
    expect(numberArrayLiteral([null, 3])).toBe('{NULL,3}');
  });
});
