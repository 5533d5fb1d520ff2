import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/consumer/message.decode.js';
import { headerText } from '../../src/kafka/headers.js';
import { appendedMs, identityKey, planBatch, type SourceMessage } from '../../src/consumer/batch.plan.js';
import { dlqMessage } from '../../src/consumer/dlq.message.js';
import { HEARTBEAT_RECORD_TYPE, RECORD_TYPE_HEADER, heartbeatValue } from '../../src/domain/heartbeat.js';

const NOW = Date.UTC(2026, 0, 2);
const good = { userId: 'user-1', metric: 'heart_rate', time: '2026-01-01T10:00:00.000Z', value: 72 };
const msg = (
  value: unknown,
  headers: Record<string, string | Buffer | (string | Buffer)[]> = {},
  offset = '0',
): SourceMessage => ({
  key: Buffer.from('user-1'),
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers,
  offset,
});

describe('decodeMessage', () => {
  it('accepts reading v1 with the header "1" as text or bytes, or without the header', () => {
    const variants: Record<string, string | Buffer | (string | Buffer)[]>[] = [
      {},
      { 'schema-version': '1' },
      { 'schema-version': Buffer.from('1') },
      { 'schema-version': [Buffer.from('1')] },
    ];
    for (const headers of variants) {
      const d = decodeMessage(msg(good, headers), NOW);
      expect(d.ok, JSON.stringify(headers)).toBe(true);
    }
    const d = decodeMessage(msg({ ...good, time: '2026-01-01T11:00:00.5+01:00', deviceId: 'c6', eventId: 'e1' }), NOW);
    expect(d).toEqual({
      ok: true,
      reading: {
        userId: 'user-1',
        metric: 'heart_rate',
        timeMs: Date.UTC(2026, 0, 1, 10, 0, 0, 500),
        value: 72,
        deviceId: 'c6',
        eventId: 'e1',
      },
    });
  });

  it.each([
    ['another schema version', msg(good, { 'schema-version': '2' }), 'UNSUPPORTED_SCHEMA_VERSION'],
    ['mixed schema versions', msg(good, { 'schema-version': ['1', '2'] }), 'UNSUPPORTED_SCHEMA_VERSION'],
    ['a tombstone', msg(null), 'INVALID_JSON'],
    ['an empty value', msg(''), 'INVALID_JSON'],
    ['text that is not JSON', msg('{"userId":'), 'INVALID_JSON'],
    ['a JSON number', msg('42'), 'INVALID_FIELD'],
    ['a missing field', msg({ ...good, value: undefined }), 'INVALID_FIELD'],
    ['a mistyped field', msg({ ...good, value: '72' }), 'INVALID_FIELD'],
    ['an unknown metric', msg({ ...good, metric: 'HEART_RATE' }), 'INVALID_METRIC'],
    ['a value out of range', msg({ ...good, value: 10 }), 'VALUE_OUT_OF_RANGE'],
    ['a time in the future', msg({ ...good, time: new Date(NOW + 6 * 60_000).toISOString() }), 'TIME_IN_FUTURE'],
    ['a time without offset', msg({ ...good, time: '2026-01-01T10:00:00' }), 'INVALID_TIME'],
    ['U+0000 in deviceId', msg({ ...good, deviceId: 'a\u0000' }), 'INVALID_FIELD'],
    ['U+0000 in eventId', msg({ ...good, eventId: '\u0000' }), 'INVALID_FIELD'],
  ])('refuses %s', (_name, m, code) => {
    const d = decodeMessage(m, NOW);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.code).toBe(code);
      expect(d.message.length).toBeGreaterThan(0);
    }
  });

  it('reads headers given as text, bytes or lists', () => {
    expect(headerText({ a: Buffer.from('x') }, 'a')).toBe('x');
    expect(headerText({ a: ['x', Buffer.from('y')] }, 'a')).toEqual(['x', 'y']);
    expect(headerText({}, 'a')).toBeUndefined();
  });
});

describe('planBatch', () => {
  it('keeps the first of each identity, counts the repeats, and sets the refused aside', () => {
    const messages = [
      msg(good, {}, '10'),
      msg({ ...good, value: 99 }, {}, '11'),
      msg('nope', {}, '12'),
      msg({ ...good, metric: 'steps', value: 5 }, {}, '13'),
      msg({ ...good, time: '2026-01-01T11:00:00+01:00', value: 98 }, {}, '14'),
    ];
    const plan = planBatch(messages, NOW);
    expect(plan.rows.map((r) => r.source.offset)).toEqual(['10', '13']);
    expect(plan.rows[0]!.reading.value).toBe(72);
    expect(plan.duplicatesInBatch).toBe(2);
    expect(plan.rejected.map((r) => [r.source.offset, r.code])).toEqual([['12', 'INVALID_JSON']]);
  });

  it('skips heartbeat records: no row, no DLQ message, counted', () => {
    const beat = (offset: string) => msg(heartbeatValue(NOW), { [RECORD_TYPE_HEADER]: HEARTBEAT_RECORD_TYPE }, offset);
    const plan = planBatch([beat('20'), msg(good, {}, '21'), beat('22')], NOW);
    expect(plan.heartbeats).toBe(2);
    expect(plan.rows.map((r) => r.source.offset)).toEqual(['21']);
    expect(plan.rejected).toEqual([]);
    // The same value without the header is not a heartbeat: it is refused like any other non-reading.
    const unmarked = planBatch([msg(heartbeatValue(NOW), {}, '23')], NOW);
    expect(unmarked.heartbeats).toBe(0);
    expect(unmarked.rejected).toHaveLength(1);
  });

  it("keeps each row's Kafka append time for the erasure ledger, null when Kafka gave none", () => {
    const timed = (timestamp: string | undefined) => ({ ...msg(heartbeatValue(NOW), {}, '1'), timestamp });
    expect(appendedMs(timed('1767225600123'))).toBe(1767225600123);
    expect(appendedMs(timed('-1'))).toBeNull();
    expect(appendedMs(timed(undefined))).toBeNull();
    expect(appendedMs(timed('not a time'))).toBeNull();
  });

  it('tells identities apart by user, metric and millisecond', () => {
    const r = { userId: 'u', metric: 'steps' as const, timeMs: 1, value: 1, deviceId: undefined, eventId: undefined };
    expect(identityKey(r)).not.toBe(identityKey({ ...r, timeMs: 2 }));
    expect(identityKey(r)).not.toBe(identityKey({ ...r, userId: 'v' }));
    expect(identityKey(r)).toBe(identityKey({ ...r, value: 2, deviceId: 'd' }));
  });
});

describe('dlqMessage', () => {
  it('keeps key, value and headers as received and adds the five DLQ headers', () => {
    const source = {
      key: Buffer.from('k'),
      value: Buffer.from('raw \u00e9'),
      headers: { 'schema-version': '1', trace: 'abc' },
      offset: '42',
    };
    const out = dlqMessage(
      source,
      { code: 'INVALID_JSON', message: 'x'.repeat(5000) },
      { topic: 'fitbit_ingestion', partition: 3 },
    );
    expect(out.key).toBe(source.key);
    expect(out.value).toBe(source.value);
    expect(out.headers).toMatchObject({
      'schema-version': '1',
      trace: 'abc',
      'error-code': 'INVALID_JSON',
      'source-topic': 'fitbit_ingestion',
      'source-partition': '3',
      'source-offset': '42',
    });
    expect((out.headers!['error-message'] as string).length).toBe(1000);
  });

  it('lets its own headers win over received ones of the same name', () => {
    const source = { key: null, value: null, headers: { 'error-code': 'FORGED' }, offset: '1' };
    expect(
      dlqMessage(source, { code: 'INVALID_JSON', message: 'm' }, { topic: 't', partition: 0 }).headers!['error-code'],
    ).toBe('INVALID_JSON');
  });
});
