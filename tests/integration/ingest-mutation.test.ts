/** ingestReadings against the real Kafka: what the mutation says it accepted is on the topic. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, endOffsets, testKafka } from '../helpers/kafka.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId } from '../helpers/wait.js';
import { IngestReadingsDocument, type ReadingInput } from '../generated/graphql.js';

const INGEST = /* GraphQL */ `
  mutation Ingest($readings: [ReadingInput!]!) {
    ingestReadings(readings: $readings) {
      accepted
      rejected {
        index
        code
        message
      }
    }
  }
`;

interface IngestData {
  ingestReadings: { accepted: number; rejected: { index: number; code: string; message: string }[] };
}

describe('ingestReadings -> fitbit_ingestion', () => {
  let gw: TestGateway;
  const kafka = testKafka();
  const topic = 'fitbit_ingestion';

  beforeAll(async () => {
    gw = await startGateway({ INGEST_MAX_READINGS: '50' });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('publishes valid readings as reading v1 keyed by user, and reports invalid ones by index', async () => {
    const user = uniqueId('ingest');
    const since = await endOffsets(kafka, topic);
    const t0 = Date.now() - 60_000;
    const readings = [
      { userId: user, metric: 'HEART_RATE', time: new Date(t0).toISOString(), value: 71.5, deviceId: 'charge6-1' },
      { userId: user, metric: 'STEPS', time: new Date(t0 + 1000).toISOString(), value: 12, eventId: 'evt-known' },
      { userId: user, metric: 'SPO2', time: new Date(t0 + 2000).toISOString(), value: 101 },
      { userId: `${user}/x`, metric: 'STEPS', time: new Date(t0).toISOString(), value: 1 },
      { userId: user, metric: 'CALORIES', time: new Date(Date.now() + 10 * 60_000).toISOString(), value: 1 },
      { userId: user, metric: 'SKIN_TEMPERATURE_DELTA', time: '2026-01-01T12:00:00.123+02:00', value: -0.4 },
    ];
    const res = await gw.gql(IngestReadingsDocument, { readings: readings as ReadingInput[] });
    expect(res.errors).toBeUndefined();
    expect(res.data?.ingestReadings.accepted).toBe(3);
    expect(res.data?.ingestReadings.rejected.map((r) => [r.index, r.code])).toEqual([
      [2, 'VALUE_OUT_OF_RANGE'],
      [3, 'INVALID_USER_ID'],
      [4, 'TIME_IN_FUTURE'],
    ]);

    const got = await collect(
      kafka,
      topic,
      since,
      (m) => m.key === user,
      (all) => all.length >= 3,
    );
    const values = got
      .map((m) => JSON.parse(m.value ?? '{}') as Record<string, unknown>)
      .sort((a, b) => String(a.time).localeCompare(String(b.time)));
    expect(values).toHaveLength(3);
    expect(values[0]).toMatchObject({
      userId: user,
      metric: 'skin_temperature_delta',
      time: '2026-01-01T10:00:00.123Z',
      value: -0.4,
    });
    expect(values[1]).toMatchObject({
      userId: user,
      metric: 'heart_rate',
      time: new Date(t0).toISOString(),
      value: 71.5,
      deviceId: 'charge6-1',
    });
    expect(values[2]).toMatchObject({ userId: user, metric: 'steps', eventId: 'evt-known', value: 12 });
    for (const v of values) expect(typeof v.eventId).toBe('string');
    for (const m of got) expect(m.headers['schema-version']).toBe('1');
    // Keyed by user: all of one user's readings land in one partition, in order.
    expect(new Set(got.map((m) => m.partition)).size).toBe(1);
  });

  it('refuses a batch over the limit as a whole, publishing nothing', async () => {
    const user = uniqueId('ingest-big');
    const readings = Array.from({ length: 51 }, (_, i) => ({
      userId: user,
      metric: 'STEPS',
      time: new Date(Date.now() - 100_000 + i).toISOString(),
      value: 1,
    }));
    const res = await gw.gql<IngestData>(INGEST, { readings });
    expect(res.data).toBeNull();
    expect(res.errors?.[0]?.extensions?.code).toBe('BATCH_TOO_LARGE');
  });

  it('refuses a body over the byte limit with PAYLOAD_TOO_LARGE', async () => {
    const small = await startGateway({ HTTP_MAX_BODY_BYTES: '2048' });
    try {
      const res = await fetch(small.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: INGEST, variables: { readings: [], pad: 'x'.repeat(4096) } }),
      });
      expect(res.status).toBe(413);
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]?.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    } finally {
      await small.stop();
    }
  });

  it('rejects values GraphQL cannot type with a code, not a 5xx', async () => {
    const res = await gw.gql(INGEST, {
      readings: [{ userId: 'u', metric: 'BLOOD_SUGAR', time: '2026-01-01T00:00:00Z', value: 1 }],
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const res2 = await gw.gql(INGEST, { readings: [{ userId: 'u', metric: 'STEPS', time: 'yesterday', value: 1 }] });
    expect(res2.errors?.[0]?.extensions?.code).toBeDefined();
  });

  it('coalesces concurrent mutations and acknowledges each of them', async () => {
    const user = uniqueId('ingest-many');
    const since = await endOffsets(kafka, topic);
    const base = Date.now() - 600_000;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, c) =>
        gw.gql<IngestData>(INGEST, {
          readings: Array.from({ length: 25 }, (_, i) => ({
            userId: user,
            metric: 'HEART_RATE',
            time: new Date(base + c * 1000 + i * 10).toISOString(),
            value: 60 + i,
          })),
        }),
      ),
    );
    expect(results.map((r) => r.data?.ingestReadings.accepted)).toEqual(Array(20).fill(25));
    const got = await collect(
      kafka,
      topic,
      since,
      (m) => m.key === user,
      (all) => all.length >= 500,
    );
    expect(new Set(got.map((m) => (JSON.parse(m.value!) as { time: string }).time)).size).toBe(500);
  });

  it('ingestSeries publishes the arrays as readings, by the same rules, and refuses mismatched lengths', async () => {
    const user = uniqueId('series-sync');
    const since = await endOffsets(kafka, topic);
    const t0 = Math.floor((Date.now() - 600_000) / 1000) * 1000;
    const times = [0, 5, 5, 10, 15].map((s) => new Date(t0 + s * 1000).toISOString());
    const SERIES = `mutation S($u: ID!, $t: [DateTime!]!, $v: [Float!]!) {
      ingestSeries(userId: $u, metric: HEART_RATE, deviceId: "sense2", times: $t, values: $v) {
        accepted duplicates rejected { index code }
      }
    }`;
    const res = await gw.gql<{
      ingestSeries: { accepted: number; duplicates: number; rejected: { index: number; code: string }[] };
    }>(SERIES, { u: user, t: times, v: [60, 61, 62, 300, 64] });
    expect(res.errors).toBeUndefined();
    // Index 2 repeats index 1's instant (a duplicate); index 3 is out of range.
    expect(res.data?.ingestSeries).toEqual({
      accepted: 4,
      duplicates: 1,
      rejected: [{ index: 3, code: 'VALUE_OUT_OF_RANGE' }],
    });
    const got = await collect(
      kafka,
      topic,
      since,
      (m) => m.key === user,
      (all) => all.length >= 3,
    );
    const published = got.map(
      (m) => JSON.parse(m.value!) as { metric: string; time: string; value: number; deviceId: string },
    );
    expect(published.map((r) => [r.metric, r.time, r.value, r.deviceId])).toEqual([
      ['heart_rate', times[0], 60, 'sense2'],
      ['heart_rate', times[1], 61, 'sense2'],
      ['heart_rate', times[4], 64, 'sense2'],
    ]);

    const mismatch = await gw.gql(SERIES, { u: user, t: times, v: [60] });
    expect(mismatch.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
  });
});
