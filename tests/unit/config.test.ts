import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('defaults match the local stack', () => {
    const c = loadConfig({});
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(c.kafka.topics).toEqual({
      ingestion: 'fitbit_ingestion',
      dlq: 'fitbit_ingestion_dlq',
      processed: 'fitbit_processed',
      alerts: 'fitbit_alerts',
    });
    expect(c.trino.server).toBe('http://127.0.0.1:8080');
    expect(c.gateway.port).toBe(4000);
    expect(c.gateway.graphiql).toBe(true);
    expect(c.gateway.ingestProducerThread).toBe(true);
    expect(loadConfig({ INGEST_PRODUCER_THREAD: 'false' }).gateway.ingestProducerThread).toBe(false);
  });

  it('reads the seed names and turns GraphiQL off in production', () => {
    const c = loadConfig({
      KAFKA_BROKER: 'a:1, b:2',
      KAFKA_TOPIC: 'other',
      TRINO_HOST: 'trino',
      TRINO_PORT: '8090',
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: 'x'.repeat(32),
    });
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(c.kafka.topics.ingestion).toBe('other');
    expect(c.trino.server).toBe('http://trino:8090');
    expect(c.gateway.graphiql).toBe(false);
    expect(c.gateway.introspection).toBe(false);
  });

  it('names every bad variable with what it expected', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', KAFKA_BROKER: 'nohost', DATABASE_URL: 'mysql://x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT: expected a port number/);
    expect(problems).toMatch(/KAFKA_BROKER: expected a comma list of host:port/);
    expect(problems).toMatch(/DATABASE_URL: expected a postgres:\/\/ URL/);
  });
});
