/**
 * Turns a Flink SQL file under `flink/` into the statements the SQL Gateway runs: `${NAME}`
 * placeholders filled in from the job settings, comments dropped, split on the semicolons that end
 * statements (not those inside strings, comments or an `EXECUTE STATEMENT SET BEGIN ... END` block).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';

/** The SQL file of the processing job, relative to the repository root. */
export const PROCESSING_JOB_FILE = 'flink/fitbit-processing.sql';

const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The job's knobs are the `flink` settings of src/config.ts, plus where it reads and writes. */
export type JobSettings = Pick<
  Config['flink'],
  | 'jobName'
  | 'windowSeconds'
  | 'latenessSeconds'
  | 'idleTimeoutSeconds'
  | 'checkpointIntervalMs'
  | 'parallelism'
  | 'alerts'
> & {
  kafkaBootstrapServers: string[];
  /** Kafka consumer group of the source; offsets are committed to it on every checkpoint. */
  consumerGroup: string;
  topics: { ingestion: string; processed: string; alerts: string };
};

/** The settings of the job that `npm run flink:deploy` submits. */
export function jobSettingsFrom(config: Pick<Config, 'flink' | 'kafka'>): JobSettings {
  const { flink, kafka } = config;
  return {
    jobName: flink.jobName,
    kafkaBootstrapServers: kafka.brokers,
    consumerGroup: `flink-${flink.jobName}`,
    topics: { ingestion: kafka.topics.ingestion, processed: kafka.topics.processed, alerts: kafka.topics.alerts },
    windowSeconds: flink.windowSeconds,
    latenessSeconds: flink.latenessSeconds,
    idleTimeoutSeconds: flink.idleTimeoutSeconds,
    checkpointIntervalMs: flink.checkpointIntervalMs,
    parallelism: flink.parallelism,
    alerts: { ...flink.alerts },
  };
}

/** Numbers go into SQL as literals; `1e21` or `NaN` would not parse, so they are refused here. */
function sqlNumber(name: string, n: number): string {
  if (!Number.isFinite(n) || Math.abs(n) >= 1e15) throw new Error(`${name}: expected a plain finite number, got ${n}`);
  return String(n);
}

/**
 * A duration as the body of a `DAY TO SECOND(3)` interval literal, `D HH:MM:SS.mmm`. Flink's code
 * generation rejects `SECOND(p)` with p above 3, which would cap a plain seconds literal at 999 s.
 */
export function dayToSecond(name: string, seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds >= 100 * 86_400) {
    throw new Error(`${name}: expected 0 to 99 days in seconds, got ${seconds}`);
  }
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const days = Math.floor(ms / 86_400_000);
  const h = Math.floor(ms / 3_600_000) % 24;
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${days} ${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** Every value lands inside a single-quoted SQL string or as a number literal. */
export function placeholderValues(s: JobSettings): Record<string, string> {
  const quoted = (v: string): string => v.replace(/'/g, "''");
  return {
    JOB_NAME: quoted(s.jobName),
    KAFKA_BOOTSTRAP_SERVERS: quoted(s.kafkaBootstrapServers.join(',')),
    CONSUMER_GROUP: quoted(s.consumerGroup),
    INGESTION_TOPIC: quoted(s.topics.ingestion),
    PROCESSED_TOPIC: quoted(s.topics.processed),
    ALERTS_TOPIC: quoted(s.topics.alerts),
    WINDOW_SECONDS: sqlNumber('windowSeconds', s.windowSeconds),
    WINDOW_SIZE: dayToSecond('windowSeconds', s.windowSeconds),
    LATENESS: dayToSecond('latenessSeconds', s.latenessSeconds),
    IDLE_TIMEOUT_SECONDS: sqlNumber('idleTimeoutSeconds', s.idleTimeoutSeconds),
    CHECKPOINT_INTERVAL_MS: sqlNumber('checkpointIntervalMs', s.checkpointIntervalMs),
    PARALLELISM: sqlNumber('parallelism', s.parallelism),
    HR_REST_BPM: sqlNumber('alerts.restHeartRateBpm', s.alerts.restHeartRateBpm),
    REST_STEPS_MAX: sqlNumber('alerts.restStepsMax', s.alerts.restStepsMax),
    SPO2_MIN: sqlNumber('alerts.spo2Min', s.alerts.spo2Min),
  };
}

/** Fills in `${NAME}`; a placeholder without a value is an error, never left in the SQL. */
export function substitute(sql: string, values: Record<string, string>, source = 'SQL'): string {
  const missing = new Set<string>();
  const out = sql.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) {
      missing.add(name);
      return whole;
    }
    return v;
  });
  if (missing.size > 0) throw new Error(`${source}: no value for ${[...missing].map((m) => `\${${m}}`).join(', ')}`);
  return out;
}

/**
 * Splits a script into statements without their trailing semicolons. Comments are removed; string
 * literals ('...') and quoted identifiers (`...`) are kept verbatim.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  const flush = (): void => {
    const s = current.trim();
    if (s !== '') statements.push(s);
    current = '';
  };
  const insideStatementSet = (): boolean =>
    /^EXECUTE\s+STATEMENT\s+SET\s+BEGIN\b/i.test(current.trim()) && !/\bEND\s*$/i.test(current.trim());
  while (i < script.length) {
    const c = script[i] as string;
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      const lineStart = current.lastIndexOf('\n') + 1;
      // A comment on a line of its own goes with its line, so the statement text stays compact.
      const ownLine = current.slice(lineStart).trim() === '';
      if (ownLine) current = current.slice(0, lineStart);
      i = end === -1 ? script.length : ownLine ? end + 1 : end;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? script.length : end + 2;
      current += ' ';
      continue;
    }
    if (c === "'" || c === '`') {
      // A doubled quote inside a literal is an escaped quote, which this loop reads as close + reopen.
      const end = script.indexOf(c, i + 1);
      const stop = end === -1 ? script.length : end + 1;
      current += script.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === ';' && !insideStatementSet()) {
      flush();
      i += 1;
      continue;
    }
    current += c;
    i += 1;
  }
  flush();
  return statements;
}

/** The statements of a job file with its settings applied, ready to send one by one. */
export function renderJobStatements(settings: JobSettings, file = PROCESSING_JOB_FILE): string[] {
  const path = join(repoDir, file);
  const sql = readFileSync(path, 'utf8');
  return splitStatements(substitute(sql, placeholderValues(settings), file));
}
