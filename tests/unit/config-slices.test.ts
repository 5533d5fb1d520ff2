/**
 * Each part takes only its slice of the configuration: the producer thread, the consumer worker,
 * the history writer, the live service and the Flink adapter never receive the JWT secret or the
 * other services' credentials. The type checks run in `npm run typecheck`; the runtime check reads
 * what the producer thread is actually handed.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { createAuthenticator } from '../../src/auth/authenticator.js';
import { loadConfig } from '../../src/config.js';
import type { createHistoryWriter } from '../../src/consumer/history.writer.js';
import type { ConsumerWorkerOptions } from '../../src/consumer/worker.js';
import type { flinkCheck } from '../../src/flink/health.check.js';
import type { ProducerThreadSettings } from '../../src/ingest/producer.protocol.js';
import { producerThreadSettings } from '../../src/ingest/threaded.publisher.js';
import type { createKafka } from '../../src/kafka/client.js';
import type { createLiveService } from '../../src/live/live.service.js';
import { createLogger } from '../../src/logger.js';
import type { createPool } from '../../src/timescale/pool.js';

const SECRET = 'slice-test-secret-slice-test-secret-slice';

describe('configuration slices', () => {
  it('the producer thread is handed the Kafka and log settings, nothing else', () => {
    const config = loadConfig({ AUTH_JWT_SECRET: SECRET, LOG_LEVEL: 'silent' });
    const settings = producerThreadSettings({
      kafka: config.kafka,
      log: config,
      topic: config.kafka.topics.ingestion,
      logger: createLogger(config, 'slices-test'),
      ackTimeoutMs: 1000,
    });
    const handed = JSON.stringify(structuredClone(settings));
    expect(handed).not.toContain(SECRET);
    expect(handed).not.toContain(config.postgres.url);
    expect(handed).not.toContain(config.lake.s3.secretKey);
    expect(Object.keys(settings.log).sort()).toEqual(['logFormat', 'logLevel']);
    expect(settings.kafka).toEqual(config.kafka);
  });

  it('no part below a process names the auth settings, unless it authenticates', () => {
    expectTypeOf<ProducerThreadSettings>().not.toHaveProperty('auth');
    expectTypeOf<ProducerThreadSettings['kafka']>().not.toHaveProperty('auth');
    expectTypeOf<ConsumerWorkerOptions['config']>().not.toHaveProperty('auth');
    expectTypeOf<ConsumerWorkerOptions['config']>().not.toHaveProperty('gateway');
    expectTypeOf<Parameters<typeof createHistoryWriter>[0]['config']>().not.toHaveProperty('auth');
    expectTypeOf<Parameters<typeof createLiveService>[0]>().not.toHaveProperty('auth');
    expectTypeOf<Parameters<typeof flinkCheck>[0]>().not.toHaveProperty('auth');
    expectTypeOf<Parameters<typeof createKafka>[0]>().not.toHaveProperty('auth');
    expectTypeOf<Parameters<typeof createPool>[0]>().not.toHaveProperty('auth');
    expectTypeOf<Parameters<typeof createAuthenticator>[0]>().toHaveProperty('auth');
    expectTypeOf<Parameters<typeof createAuthenticator>[0]>().not.toHaveProperty('postgres');
  });
});
