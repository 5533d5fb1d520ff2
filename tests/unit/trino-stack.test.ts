/** How the local stack turns the project configuration into Trino's catalog environment. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { catalogEnvironment, postgresJdbc, trinoJavaHome } from '../../stack/services/trino.js';

describe('trino stack service', () => {
  it('derives the JDBC URL, user and password from DATABASE_URL', () => {
    expect(postgresJdbc('postgres://postgres@127.0.0.1:5432/fitbit')).toEqual({
      url: 'jdbc:postgresql://127.0.0.1:5432/fitbit',
      user: 'postgres',
      password: '',
    });
    expect(postgresJdbc('postgresql://app%40x:p%3Ass@db.internal/analytics?sslmode=require')).toEqual({
      url: 'jdbc:postgresql://db.internal:5432/analytics?sslmode=require',
      user: 'app@x',
      password: 'p:ss',
    });
  });

  it('sets every variable the catalog files substitute', () => {
    const config = loadConfig({ KAFKA_BROKER: '127.0.0.1:9092,127.0.0.1:9094' });
    const env = catalogEnvironment(config, '/repo');
    expect(env).toEqual({
      TRINO_PG_JDBC_URL: 'jdbc:postgresql://127.0.0.1:5432/fitbit',
      TRINO_PG_USER: 'postgres',
      TRINO_PG_PASSWORD: '',
      TRINO_KAFKA_NODES: '127.0.0.1:9092,127.0.0.1:9094',
      TRINO_KAFKA_TABLE_DIR: '/repo/trino/kafka',
      TRINO_LAKE_WAREHOUSE: 's3://fitbit-lake/warehouse',
      TRINO_S3_ENDPOINT: 'http://127.0.0.1:9000',
      TRINO_S3_REGION: 'us-east-1',
      TRINO_S3_ACCESS_KEY: 'fitbit',
      TRINO_S3_SECRET_KEY: 'fitbit-local-secret',
    });
  });

  it('prefers TRINO_JAVA_HOME and explains when no suitable JDK exists', () => {
    expect(trinoJavaHome(loadConfig({ TRINO_JAVA_HOME: '/opt/jdk-25' }), () => '/usr/lib/jvm/other')).toBe(
      '/opt/jdk-25',
    );
    expect(trinoJavaHome(loadConfig({}), () => '/usr/lib/jvm/temurin-25-jdk-amd64')).toBe(
      '/usr/lib/jvm/temurin-25-jdk-amd64',
    );
    expect(() => trinoJavaHome(loadConfig({}), () => undefined)).toThrow(/TRINO_JAVA_HOME/);
  });
});
