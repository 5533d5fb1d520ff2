/**
 * Kafka stopped under the gateway: `health` says so without failing, mutations fail with their
 * code within the configured bound and report nothing as accepted, and both recover after restart.
 * This file stops the stack's own Kafka; vitest runs files one at a time, so no other file sees it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafka as kafkaService } from '../../stack/services/kafka.js';
import { bringUp, createStackContext } from '../../stack/lib/context.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const INGEST = `mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { accepted } }`;
const HEALTH = `{ health { name ok detail } }`;

interface Health {
  health: { name: string; ok: boolean; detail: string | null }[];
}

describe('Kafka outage', () => {
  const ctx = createStackContext(() => undefined);
  let gw: TestGateway;
  const ackTimeoutMs = 4000;

  beforeAll(async () => {
    gw = await startGateway({ INGEST_ACK_TIMEOUT_MS: String(ackTimeoutMs) });
  });
  afterAll(async () => {
    await bringUp(ctx, kafkaService); // leave the stack as we found it, whatever happened
    await gw?.stop();
  });

  const reading = (user: string) => [
    { userId: user, metric: 'STEPS', time: new Date(Date.now() - 1000).toISOString(), value: 3 },
  ];

  it('fails mutations with a Kafka code in bounded time while the broker is down, and recovers after', async () => {
    const user = uniqueId('outage');
    const before = await gw.gql<{ ingestReadings: { accepted: number } }>(INGEST, { r: reading(user) });
    expect(before.data?.ingestReadings.accepted).toBe(1);

    await kafkaService.stop!(ctx);

    const health = await gw.gql<Health>(HEALTH);
    const kafkaHealth = health.data?.health.find((h) => h.name === 'kafka');
    expect(kafkaHealth?.ok).toBe(false);
    expect(kafkaHealth?.detail).toBeTruthy();
    expect(health.data?.health.find((h) => h.name === 'postgres')?.ok).toBe(true);

    const started = Date.now();
    const during = await gw.gql(INGEST, { r: reading(user) });
    const elapsed = Date.now() - started;
    expect(during.data ?? null).toBeNull();
    expect(['KAFKA_UNAVAILABLE', 'KAFKA_TIMEOUT']).toContain(during.errors?.[0]?.extensions?.code);
    expect(elapsed).toBeLessThan(ackTimeoutMs + 2000);

    await bringUp(ctx, kafkaService);

    const after = await waitFor(
      async () => {
        const r = await gw.gql<{ ingestReadings: { accepted: number } }>(INGEST, { r: reading(user) });
        return r.data?.ingestReadings.accepted === 1 ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'a mutation to succeed after Kafka restarted' },
    );
    expect(after.data?.ingestReadings.accepted).toBe(1);
    const healthAfter = await waitFor(async () => {
      const h = await gw.gql<Health>(HEALTH);
      return h.data?.health.find((x) => x.name === 'kafka')?.ok ? h : undefined;
    });
    expect(healthAfter.data?.health.find((x) => x.name === 'kafka')?.ok).toBe(true);
  });
});
