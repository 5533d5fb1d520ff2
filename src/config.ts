/**
 * The one place that reads the environment. Every process (gateway, consumer worker, stack
 * scripts, benchmarks) calls `loadConfig()` once and hands the typed result down; nothing else
 * touches `process.env`.
 *
 * Defaults match the local stack that `npm run stack:up` starts. `.env.example` lists the same
 * names with the same defaults.
 */
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const port = z.coerce
  .number({ invalid_type_error: 'expected a port number' })
  .int('expected a whole port number')
  .min(1, 'expected a port from 1 to 65535')
  .max(65535, 'expected a port from 1 to 65535');
/** A port to listen on: 0 asks the OS for a free one (tests). */
const listenPort = z.coerce
  .number({ invalid_type_error: 'expected a port number' })
  .int('expected a whole port number')
  .min(0, 'expected a port from 0 to 65535')
  .max(65535, 'expected a port from 0 to 65535');
const positiveInt = z.coerce
  .number({ invalid_type_error: 'expected a whole number' })
  .int('expected a whole number')
  .positive('expected a number above 0');
const nonNegativeInt = z.coerce
  .number({ invalid_type_error: 'expected a whole number' })
  .int('expected a whole number')
  .min(0, 'expected 0 or more');
const finite = z.coerce.number({ invalid_type_error: 'expected a number' }).finite();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    errorMap: () => ({ message: 'expected true or false' }),
  })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const url = z.string().url('expected a URL such as http://127.0.0.1:8081');
const brokerList = z
  .string()
  .min(1)
  .transform((v) => v.split(',').map((s) => s.trim()))
  .refine((list) => list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), {
    message: 'expected a comma list of host:port, e.g. 127.0.0.1:9092',
  });
const topic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name ([A-Za-z0-9._-], 1-249 chars)');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),

  // Gateway
  HOST: z.string().default('127.0.0.1'),
  PORT: listenPort.default(4000),
  GRAPHIQL: bool.optional(),
  DASHBOARD: bool.default('true'),
  INGEST_MAX_READINGS: positiveInt.default(5000),
  HTTP_MAX_BODY_BYTES: positiveInt.default(5 * 1024 * 1024),
  INGEST_ACK_TIMEOUT_MS: positiveInt.default(10_000),
  INGEST_PRODUCER_THREAD: bool.default('true'),

  // Kafka (names from the original system)
  KAFKA_BROKER: brokerList.default('127.0.0.1:9092'),
  KAFKA_TOPIC: topic.default('fitbit_ingestion'),
  KAFKA_DLQ_TOPIC: topic.default('fitbit_ingestion_dlq'),
  KAFKA_PROCESSED_TOPIC: topic.default('fitbit_processed'),
  KAFKA_ALERTS_TOPIC: topic.default('fitbit_alerts'),
  KAFKA_PARTITIONS: positiveInt.default(6),
  KAFKA_CLIENT_ID: z.string().min(1).default('fitbit-gateway'),
  KAFKA_CONSUMER_GROUP: z.string().min(1).default('fitbit-timescale-writer'),
  KAFKA_CONTROLLER_PORT: port.default(9093),
  KAFKA_REPLICATION_FACTOR: positiveInt.default(1),
  KAFKA_MIN_INSYNC_REPLICAS: positiveInt.default(1),

  // Postgres / TimescaleDB
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/fitbit'),
  PG_POOL_MAX: positiveInt.default(10),
  SERIES_MAX_POINTS: positiveInt.default(10_000),
  RANGE_MAX_DAYS: positiveInt.default(366),

  // Trino (names from the original system)
  TRINO_HOST: z.string().min(1).default('127.0.0.1'),
  TRINO_PORT: port.default(8080),
  TRINO_USER: z.string().min(1).default('fitbit-gateway'),
  TRINO_CATALOG: z.string().min(1).default('timescale'),
  TRINO_SCHEMA: z.string().min(1).default('public'),
  TRINO_QUERY_TIMEOUT_MS: positiveInt.default(30_000),
  TRINO_CACHE_TTL_MS: nonNegativeInt.default(5_000),
  TRINO_MAX_CONCURRENT_QUERIES: positiveInt.default(4),
  TRINO_MAX_QUEUED_QUERIES: nonNegativeInt.default(16),
  /** Trino worker processes beside the coordinator; with any, the coordinator only plans (local stack). */
  TRINO_WORKERS: nonNegativeInt.default(0),
  TRINO_WORKER_PORT: port.default(8090),

  // Lakehouse tier (docs/lake.md): Iceberg tables in Trino's `lake` catalog, on an S3 endpoint
  LAKE_ENABLED: bool.default('true'),
  LAKE_CATALOG: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'expected a Trino catalog name')
    .default('lake'),
  LAKE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'expected a Trino schema name')
    .default('fitbit'),
  LAKE_TIER_INTERVAL_MS: positiveInt.default(5_000),
  LAKE_TIER_GRACE_SECONDS: nonNegativeInt.default(120),
  LAKE_TIER_MAX_HOURS: positiveInt.default(24),
  S3_ENDPOINT: url.default('http://127.0.0.1:9000'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name')
    .default('fitbit-lake'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY: z.string().min(1).default('fitbit'),
  S3_SECRET_KEY: z.string().min(8).default('fitbit-local-secret'),

  // Flink
  FLINK_REST_URL: url.default('http://127.0.0.1:8081'),
  FLINK_SQL_GATEWAY_URL: url.default('http://127.0.0.1:8083'),
  FLINK_RPC_PORT: port.default(6123),
  FLINK_JOB_NAME: z.string().min(1).default('fitbit-processing'),
  FLINK_WINDOW_SECONDS: positiveInt.default(60),
  FLINK_LATENESS_SECONDS: nonNegativeInt.default(30),
  FLINK_IDLE_TIMEOUT_SECONDS: positiveInt.default(10),
  FLINK_HEARTBEAT_INTERVAL_MS: nonNegativeInt.default(2000),
  FLINK_CHECKPOINT_INTERVAL_MS: positiveInt.default(10_000),
  FLINK_PARALLELISM: positiveInt.default(1),
  FLINK_TASKMANAGERS: positiveInt.default(1),
  FLINK_TASK_SLOTS: positiveInt.default(4),
  ALERT_HR_REST_BPM: finite.default(100),
  ALERT_REST_STEPS_MAX: finite.default(10),
  ALERT_SPO2_MIN: finite.default(90),

  // Consumer worker
  CONSUMER_METRICS_PORT: listenPort.default(9464),
  KAFKA_CONSUMER_FROM_BEGINNING: bool.default('true'),
  CONSUMER_CONCURRENCY: positiveInt.default(3),
  // 4 MiB (about 16,000 readings) rather than 1: a worker catching up writes fewer, larger COPYs,
  // whose per-minute rollup folds several readings into each row it upserts. Postgres, the part
  // that does not scale out, spent 25-45% less CPU a row for 10% more in the worker (bench/ANALYSIS.md).
  CONSUMER_MAX_BYTES_PER_PARTITION: positiveInt.default(4 * 1024 * 1024),
  CONSUMER_RETRY_INITIAL_MS: positiveInt.default(200),
  CONSUMER_RETRY_MAX_MS: positiveInt.default(10_000),
  CONSUMER_SESSION_TIMEOUT_MS: positiveInt.default(30_000),
  CONSUMER_STORE_HISTORY: bool.default('true'),

  // Live subscriptions (graphql-ws)
  LIVE_BUFFER_SIZE: positiveInt.default(256),
  LIVE_KEEPALIVE_MS: nonNegativeInt.default(12_000),
  LIVE_DEDUP_ENTRIES: positiveInt.default(50_000),
  LIVE_REPLAY_PER_PARTITION: nonNegativeInt.default(10_000),
  LIVE_CURSOR_SECRET: z.string().min(32, 'expected a secret of at least 32 characters').optional(),

  // Authentication (src/auth, docs/security.md)
  AUTH_MODE: z.enum(['development', 'required']).optional(),
  AUTH_JWT_SECRET: z.string().min(32, 'expected an HS256 secret of at least 32 characters').optional(),
  AUTH_JWT_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  AUTH_JWKS_FILE: z.string().min(1).optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  AUTH_CLOCK_TOLERANCE_SECONDS: nonNegativeInt.default(5),
  AUTH_REQUIRE_EXP: bool.default('true'),
  AUTH_ACCEPT_FUTURE_IAT: bool.default('false'),

  // Aggregates seen by roles that may not read single users (docs/security.md: aggregate privacy)
  PRIVACY_MIN_RANGE_SECONDS: nonNegativeInt.default(3600),
  PRIVACY_MIN_COHORT_USERS: nonNegativeInt.default(3),

  // Limits (src/limits, docs/security.md); 0 turns a limit off
  GRAPHQL_MAX_DEPTH: nonNegativeInt.default(10),
  GRAPHQL_MAX_COST: nonNegativeInt.default(100_000),
  GRAPHQL_MAX_ALIASES: nonNegativeInt.default(30),
  GRAPHQL_MAX_OPERATIONS: nonNegativeInt.default(10),
  GRAPHQL_MAX_TOKENS: nonNegativeInt.default(250_000),
  LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: nonNegativeInt.default(100),
  LIVE_MAX_CONNECTIONS_PER_SUBJECT: nonNegativeInt.default(50),
  RATE_LIMIT_PER_SECOND: z.coerce.number({ invalid_type_error: 'expected a number' }).finite().min(0).default(50),
  RATE_LIMIT_BURST: nonNegativeInt.default(100),

  // Local stack
  STACK_PROFILE: z.enum(['default', 'cluster']).default('default'),
  STACK_DIR: z.string().default('.stack'),
  /** Downloaded artifacts; the cluster profile shares the default stack's, so nothing is fetched twice. */
  STACK_DIST_DIR: z.string().optional(),
  STACK_JAVA_HOME: z.string().optional(),
  TRINO_JAVA_HOME: z.string().optional(),
});

type Raw = z.infer<typeof schema>;

export interface Config {
  env: Raw['NODE_ENV'];
  logLevel: Raw['LOG_LEVEL'];
  /** json: one JSON object a line (for collectors); pretty: coloured lines for a person (`npm run dev`). */
  logFormat: Raw['LOG_FORMAT'];
  gateway: {
    host: string;
    port: number;
    graphiql: boolean;
    introspection: boolean;
    /** Serve the dashboard at /, /users/{id} and /pipeline (its panels follow the caller's token). */
    dashboard: boolean;
    maxReadingsPerMutation: number;
    maxBodyBytes: number;
    ingestAckTimeoutMs: number;
    /** Run the Kafka producer of `ingestReadings` in a worker thread (true) or on the main thread. */
    ingestProducerThread: boolean;
  };
  kafka: {
    brokers: string[];
    clientId: string;
    topics: { ingestion: string; dlq: string; processed: string; alerts: string };
    partitions: number;
    consumerGroup: string;
    /** The first broker's KRaft controller port; broker i's is this plus its broker port's offset from the first. */
    controllerPort: number;
    /** Copies of every partition of the project's topics, and how many must hold a write before acks=all answers. */
    replicationFactor: number;
    minInsyncReplicas: number;
  };
  postgres: {
    url: string;
    poolMax: number;
    seriesMaxPoints: number;
    rangeMaxDays: number;
  };
  trino: {
    host: string;
    port: number;
    server: string;
    user: string;
    catalog: string;
    schema: string;
    queryTimeoutMs: number;
    cacheTtlMs: number;
    /** Queries this gateway runs in Trino at once; cache hits and joined queries do not count. */
    maxConcurrentQueries: number;
    /** Queries waiting for a slot; past this, aggregates are refused with TRINO_BUSY (retriable). */
    maxQueuedQueries: number;
    /** Worker processes the local stack runs beside the coordinator (0: the coordinator runs tasks too). */
    workers: number;
    workerPort: number;
  };
  flink: {
    restUrl: string;
    sqlGatewayUrl: string;
    rpcPort: number;
    jobName: string;
    windowSeconds: number;
    latenessSeconds: number;
    idleTimeoutSeconds: number;
    /**
     * Heartbeat records the gateway writes into every partition of the ingestion topic, so windows
     * close by the wall clock when readings stop (src/kafka/heartbeat.ts). 0 disables.
     */
    heartbeatIntervalMs: number;
    checkpointIntervalMs: number;
    parallelism: number;
    /** TaskManager processes the local stack runs, and task slots in each. */
    taskManagers: number;
    taskSlots: number;
    alerts: { restHeartRateBpm: number; restStepsMax: number; spo2Min: number };
  };
  consumer: {
    metricsPort: number;
    /** A new consumer group starts at the oldest retained message (true) or at the end of the topic. */
    fromBeginning: boolean;
    /** Partitions written to Postgres at the same time (kafkajs partitionsConsumedConcurrently). */
    concurrency: number;
    /** Upper bound of one fetched batch per partition, so of one multi-row INSERT. */
    maxBytesPerPartition: number;
    /** Back-off of retriable failures (database or DLQ unavailable): first wait and cap. */
    retryInitialMs: number;
    retryMaxMs: number;
    /** A member silent this long (crashed) loses its partitions to the rest of the group. */
    sessionTimeoutMs: number;
    /** Also store the job's output (windows, alerts) for the history queries and old cursors. */
    storeHistory: boolean;
  };
  live: {
    /** Events held per subscriber before the oldest are dropped. */
    bufferSize: number;
    /** Server ping interval; a socket that does not answer within one more interval is closed. 0 disables. */
    keepAliveMs: number;
    /** Window and alert identities remembered to drop repeats from the output topics. */
    dedupEntries: number;
    /** Events kept per partition of each output topic for subscriptions resumed with a cursor. */
    replayPerPartition: number;
    /**
     * Key of the cursors' MAC. Every gateway of a deployment needs the same one, so that a client
     * can resume on any of them: LIVE_CURSOR_SECRET, else derived from AUTH_JWT_SECRET, else a
     * fixed development key (cursors then are checked for integrity, not origin).
     */
    cursorSecret: string;
  };
  lake: {
    /** Tier closed hours into the lake and read them from there (false: every aggregate reads the hot store). */
    enabled: boolean;
    catalog: string;
    schema: string;
    /** How often the tierer looks for closed or changed hours. */
    tierIntervalMs: number;
    /** An hour is tiered once it ended this long ago (readings still arriving for it go to the hot store). */
    tierGraceMs: number;
    /** Most hours one tiering statement covers (backfill moves this many at a time). */
    tierMaxHours: number;
    s3: { endpoint: string; bucket: string; region: string; accessKey: string; secretKey: string };
  };
  stack: {
    /** default: one process per engine; cluster: replicated Kafka, two TaskManagers, a Trino worker (docs/cluster.md). */
    profile: StackProfile;
    dir: string;
    /** Where fetched artifacts live (default: dist/ inside `dir`). */
    distDir: string;
    javaHome: string | undefined;
    trinoJavaHome: string | undefined;
  };
  auth: {
    /** development: a request without a token acts as an admin (logged); required: every request needs a valid token. */
    mode: 'development' | 'required';
    /** HS256 shared secret. */
    jwtSecret: string | undefined;
    /** PEM (SPKI) public key for RS256 or ES256 tokens. */
    publicKeyFile: string | undefined;
    /** A JSON Web Key Set file ({"keys": [...]}); the token's `kid` picks the key. */
    jwksFile: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    clockToleranceSeconds: number;
    /** Refuse tokens without `exp` (they would be valid forever). */
    requireExp: boolean;
    /** Accept tokens whose `iat` is later than now (plus the clock tolerance). */
    acceptFutureIat: boolean;
  };
  privacy: {
    /** Shortest aggregate range a role other than admin may ask for, in ms (0: any). */
    minRangeMs: number;
    /** cohortStats buckets computed from fewer users are left out for roles other than admin (0: none). */
    minCohortUsers: number;
  };
  limits: {
    /** Deepest selection nesting per operation (introspection fields not counted). */
    maxDepth: number;
    /** Estimated rows an operation may produce (docs/security.md: cost model). */
    maxCost: number;
    /** Aliased fields per document. */
    maxAliases: number;
    /** Operation definitions per document. */
    maxOperations: number;
    /** Lexer tokens per document (graphql-js parse maxTokens). */
    maxTokens: number;
    maxSubscriptionsPerConnection: number;
    maxConnectionsPerSubject: number;
    /** Token bucket per subject: refill per second and bucket size. */
    ratePerSecond: number;
    rateBurst: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Contradictions between the topology settings, refused at start rather than found at the first write. */
function checkTopology(r: Raw): string[] {
  const problems: string[] = [];
  if (r.KAFKA_MIN_INSYNC_REPLICAS > r.KAFKA_REPLICATION_FACTOR) {
    problems.push(
      `KAFKA_MIN_INSYNC_REPLICAS: ${r.KAFKA_MIN_INSYNC_REPLICAS} copies can never be in sync with KAFKA_REPLICATION_FACTOR=${r.KAFKA_REPLICATION_FACTOR}; every acks=all write would fail`,
    );
  }
  if (r.FLINK_PARALLELISM > r.FLINK_TASKMANAGERS * r.FLINK_TASK_SLOTS) {
    problems.push(
      `FLINK_PARALLELISM: ${r.FLINK_PARALLELISM} needs more task slots than FLINK_TASKMANAGERS x FLINK_TASK_SLOTS = ${r.FLINK_TASKMANAGERS * r.FLINK_TASK_SLOTS}; the job would never start`,
    );
  }
  return problems;
}

export type StackProfile = 'default' | 'cluster';

/**
 * What `STACK_PROFILE=cluster` changes: every engine more than once, on ports of its own (so it can
 * run beside the default stack), in its own stack folder, with a private Postgres that the cluster's
 * fault tests may restart. A variable set in the environment still wins over these.
 */
export const PROFILE_DEFAULTS: Record<StackProfile, Record<string, string>> = {
  default: {},
  cluster: {
    STACK_DIR: '.stack-cluster',
    STACK_DIST_DIR: '.stack/dist',
    KAFKA_BROKER: '127.0.0.1:19092,127.0.0.1:19192,127.0.0.1:19292',
    KAFKA_CONTROLLER_PORT: '19093',
    KAFKA_REPLICATION_FACTOR: '3',
    KAFKA_MIN_INSYNC_REPLICAS: '2',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:15432/fitbit',
    TRINO_PORT: '18080',
    TRINO_WORKERS: '1',
    TRINO_WORKER_PORT: '18090',
    S3_ENDPOINT: 'http://127.0.0.1:19000',
    FLINK_REST_URL: 'http://127.0.0.1:18081',
    FLINK_SQL_GATEWAY_URL: 'http://127.0.0.1:18083',
    FLINK_RPC_PORT: '16123',
    FLINK_TASKMANAGERS: '2',
    // One subtask per partition of the ingestion topic, spread over both TaskManagers; either one
    // alone has the slots to run the whole job while the other is gone.
    FLINK_TASK_SLOTS: '6',
    FLINK_PARALLELISM: '6',
  },
};

/** Reads `KEY=value` lines from a .env file, if one exists; the real environment wins. */
function readDotEnv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/**
 * Validates `env` (default: `.env` in the working directory overlaid by `process.env`) and returns
 * the typed configuration. Throws a ConfigError that names every bad variable and what it expected.
 */
export function loadConfig(env?: Record<string, string | undefined>): Config {
  const source = env ?? { ...readDotEnv(resolve('.env')), ...process.env };
  // Empty strings count as unset, so `FOO= npm run x` falls back to the default.
  const given = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const profile = given.STACK_PROFILE === 'cluster' ? 'cluster' : 'default';
  const cleaned = { ...PROFILE_DEFAULTS[profile], ...given };
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(cleaned[String(i.path[0])])})`,
      ),
    );
  }
  const r = parsed.data;
  const development = r.NODE_ENV !== 'production';
  const authProblems = checkAuthSettings(r);
  if (authProblems.length > 0) throw new ConfigError(authProblems);
  const topologyProblems = checkTopology(r);
  if (topologyProblems.length > 0) throw new ConfigError(topologyProblems);
  return {
    env: r.NODE_ENV,
    logLevel: r.LOG_LEVEL,
    logFormat: r.LOG_FORMAT,
    gateway: {
      host: r.HOST,
      port: r.PORT,
      graphiql: r.GRAPHIQL ?? development,
      introspection: r.GRAPHIQL ?? development,
      dashboard: r.DASHBOARD,
      maxReadingsPerMutation: r.INGEST_MAX_READINGS,
      maxBodyBytes: r.HTTP_MAX_BODY_BYTES,
      ingestAckTimeoutMs: r.INGEST_ACK_TIMEOUT_MS,
      ingestProducerThread: r.INGEST_PRODUCER_THREAD,
    },
    kafka: {
      brokers: r.KAFKA_BROKER,
      clientId: r.KAFKA_CLIENT_ID,
      topics: {
        ingestion: r.KAFKA_TOPIC,
        dlq: r.KAFKA_DLQ_TOPIC,
        processed: r.KAFKA_PROCESSED_TOPIC,
        alerts: r.KAFKA_ALERTS_TOPIC,
      },
      partitions: r.KAFKA_PARTITIONS,
      consumerGroup: r.KAFKA_CONSUMER_GROUP,
      controllerPort: r.KAFKA_CONTROLLER_PORT,
      replicationFactor: r.KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: r.KAFKA_MIN_INSYNC_REPLICAS,
    },
    postgres: {
      url: r.DATABASE_URL,
      poolMax: r.PG_POOL_MAX,
      seriesMaxPoints: r.SERIES_MAX_POINTS,
      rangeMaxDays: r.RANGE_MAX_DAYS,
    },
    trino: {
      host: r.TRINO_HOST,
      port: r.TRINO_PORT,
      server: `http://${r.TRINO_HOST}:${r.TRINO_PORT}`,
      user: r.TRINO_USER,
      catalog: r.TRINO_CATALOG,
      schema: r.TRINO_SCHEMA,
      queryTimeoutMs: r.TRINO_QUERY_TIMEOUT_MS,
      cacheTtlMs: r.TRINO_CACHE_TTL_MS,
      maxConcurrentQueries: r.TRINO_MAX_CONCURRENT_QUERIES,
      maxQueuedQueries: r.TRINO_MAX_QUEUED_QUERIES,
      workers: r.TRINO_WORKERS,
      workerPort: r.TRINO_WORKER_PORT,
    },
    flink: {
      restUrl: r.FLINK_REST_URL.replace(/\/$/, ''),
      sqlGatewayUrl: r.FLINK_SQL_GATEWAY_URL.replace(/\/$/, ''),
      rpcPort: r.FLINK_RPC_PORT,
      jobName: r.FLINK_JOB_NAME,
      windowSeconds: r.FLINK_WINDOW_SECONDS,
      latenessSeconds: r.FLINK_LATENESS_SECONDS,
      idleTimeoutSeconds: r.FLINK_IDLE_TIMEOUT_SECONDS,
      heartbeatIntervalMs: r.FLINK_HEARTBEAT_INTERVAL_MS,
      checkpointIntervalMs: r.FLINK_CHECKPOINT_INTERVAL_MS,
      parallelism: r.FLINK_PARALLELISM,
      taskManagers: r.FLINK_TASKMANAGERS,
      taskSlots: r.FLINK_TASK_SLOTS,
      alerts: {
        restHeartRateBpm: r.ALERT_HR_REST_BPM,
        restStepsMax: r.ALERT_REST_STEPS_MAX,
        spo2Min: r.ALERT_SPO2_MIN,
      },
    },
    consumer: {
      metricsPort: r.CONSUMER_METRICS_PORT,
      fromBeginning: r.KAFKA_CONSUMER_FROM_BEGINNING,
      concurrency: r.CONSUMER_CONCURRENCY,
      maxBytesPerPartition: r.CONSUMER_MAX_BYTES_PER_PARTITION,
      retryInitialMs: r.CONSUMER_RETRY_INITIAL_MS,
      retryMaxMs: r.CONSUMER_RETRY_MAX_MS,
      sessionTimeoutMs: r.CONSUMER_SESSION_TIMEOUT_MS,
      storeHistory: r.CONSUMER_STORE_HISTORY,
    },
    live: {
      bufferSize: r.LIVE_BUFFER_SIZE,
      keepAliveMs: r.LIVE_KEEPALIVE_MS,
      dedupEntries: r.LIVE_DEDUP_ENTRIES,
      replayPerPartition: r.LIVE_REPLAY_PER_PARTITION,
      cursorSecret: cursorSecret(r.LIVE_CURSOR_SECRET, r.AUTH_JWT_SECRET),
    },
    lake: {
      enabled: r.LAKE_ENABLED,
      catalog: r.LAKE_CATALOG,
      schema: r.LAKE_SCHEMA,
      tierIntervalMs: r.LAKE_TIER_INTERVAL_MS,
      tierGraceMs: r.LAKE_TIER_GRACE_SECONDS * 1000,
      tierMaxHours: r.LAKE_TIER_MAX_HOURS,
      s3: {
        endpoint: r.S3_ENDPOINT.replace(/\/$/, ''),
        bucket: r.S3_BUCKET,
        region: r.S3_REGION,
        accessKey: r.S3_ACCESS_KEY,
        secretKey: r.S3_SECRET_KEY,
      },
    },
    stack: {
      profile: r.STACK_PROFILE,
      dir: resolve(r.STACK_DIR),
      distDir: resolve(r.STACK_DIST_DIR ?? join(r.STACK_DIR, 'dist')),
      javaHome: r.STACK_JAVA_HOME,
      trinoJavaHome: r.TRINO_JAVA_HOME,
    },
    auth: {
      mode: r.AUTH_MODE ?? (development ? 'development' : 'required'),
      jwtSecret: r.AUTH_JWT_SECRET,
      publicKeyFile: r.AUTH_JWT_PUBLIC_KEY_FILE ? resolve(r.AUTH_JWT_PUBLIC_KEY_FILE) : undefined,
      jwksFile: r.AUTH_JWKS_FILE ? resolve(r.AUTH_JWKS_FILE) : undefined,
      issuer: r.AUTH_ISSUER,
      audience: r.AUTH_AUDIENCE,
      clockToleranceSeconds: r.AUTH_CLOCK_TOLERANCE_SECONDS,
      requireExp: r.AUTH_REQUIRE_EXP,
      acceptFutureIat: r.AUTH_ACCEPT_FUTURE_IAT,
    },
    privacy: {
      minRangeMs: r.PRIVACY_MIN_RANGE_SECONDS * 1000,
      minCohortUsers: r.PRIVACY_MIN_COHORT_USERS,
    },
    limits: {
      maxDepth: r.GRAPHQL_MAX_DEPTH,
      maxCost: r.GRAPHQL_MAX_COST,
      maxAliases: r.GRAPHQL_MAX_ALIASES,
      maxOperations: r.GRAPHQL_MAX_OPERATIONS,
      maxTokens: r.GRAPHQL_MAX_TOKENS,
      maxSubscriptionsPerConnection: r.LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxConnectionsPerSubject: r.LIVE_MAX_CONNECTIONS_PER_SUBJECT,
      ratePerSecond: r.RATE_LIMIT_PER_SECOND,
      rateBurst: r.RATE_LIMIT_BURST,
    },
  };
}

/**
 * Production never runs open: it needs key material and the required mode. A key file that is
 * named must exist (its content is checked when the gateway builds its verifier).
 */
function checkAuthSettings(r: Raw): string[] {
  const problems: string[] = [];
  const keys = [
    r.AUTH_JWT_SECRET && 'AUTH_JWT_SECRET',
    r.AUTH_JWT_PUBLIC_KEY_FILE && 'AUTH_JWT_PUBLIC_KEY_FILE',
    r.AUTH_JWKS_FILE && 'AUTH_JWKS_FILE',
  ].filter(Boolean);
  if (keys.length > 1)
    problems.push(
      `auth: set one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE, AUTH_JWKS_FILE (got ${keys.join(', ')})`,
    );
  for (const name of ['AUTH_JWT_PUBLIC_KEY_FILE', 'AUTH_JWKS_FILE'] as const) {
    const file = r[name];
    if (file && !existsSync(resolve(file))) problems.push(`${name}: file not found (got ${JSON.stringify(file)})`);
  }
  const mode = r.AUTH_MODE ?? (r.NODE_ENV === 'production' ? 'required' : 'development');
  if (r.NODE_ENV === 'production' && mode === 'development') {
    problems.push(
      'AUTH_MODE: development mode (unauthenticated admin) is refused with NODE_ENV=production; use required',
    );
  }
  if (mode === 'required' && keys.length === 0) {
    problems.push(
      `auth: ${r.NODE_ENV === 'production' ? 'NODE_ENV=production' : 'AUTH_MODE=required'} needs key material: set AUTH_JWT_SECRET (HS256), AUTH_JWT_PUBLIC_KEY_FILE (RS256/ES256 PEM) or AUTH_JWKS_FILE`,
    );
  }
  return problems;
}

/**
 * The cursor MAC key: its own secret when set; otherwise one derived from the HS256 secret (a
 * different key, so a cursor MAC never doubles as a token signature); otherwise a development key.
 */
function cursorSecret(own: string | undefined, jwtSecret: string | undefined): string {
  if (own) return own;
  if (jwtSecret) return createHmac('sha256', jwtSecret).update('fitbit-live-cursor-v1').digest('base64');
  return 'fitbit-live-cursor-development-key-v1';
}
