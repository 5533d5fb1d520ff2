/**
 * A small client for the Flink SQL Gateway REST API (v2): sessions, statements and their results.
 * Only what deploying and inspecting the job needs; bounded statements only (a SELECT over an
 * unbounded source never reaches the end of its results and would run into `statementTimeoutMs`).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface SqlGatewayClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8083`. */
  url: string;
  /** Per HTTP request. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** How long one statement may take until its last result page. Default 120 000 ms. */
  statementTimeoutMs?: number;
  /** Pause between polls while the gateway says NOT_READY. Default 100 ms. */
  pollIntervalMs?: number;
}

export type SqlGatewayErrorCode =
  /** Nothing answered (connection refused, DNS, timeout of a single request). */
  | 'SQL_GATEWAY_UNREACHABLE'
  /** The gateway answered with an HTTP error outside a statement (session handling). */
  | 'SQL_GATEWAY_HTTP_ERROR'
  /** The statement was rejected or failed: parse, validation, planning or submission. */
  | 'SQL_STATEMENT_FAILED'
  /** The statement had not produced all its results within `statementTimeoutMs`. */
  | 'SQL_STATEMENT_TIMEOUT';

export class SqlGatewayError extends Error {
  constructor(
    readonly code: SqlGatewayErrorCode,
    message: string,
    /** The gateway's full error text (Java stack trace included), for logs. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'SqlGatewayError';
  }
}

export interface StatementResult {
  columns: string[];
  /** Rows as JSON values, in the order the gateway returned them. */
  rows: unknown[][];
  /** Set for statements that submitted a job (INSERT, EXECUTE STATEMENT SET, a query on the cluster). */
  jobId: string | undefined;
}

export interface SqlGatewaySession {
  readonly handle: string;
  execute(statement: string): Promise<StatementResult>;
  /** Sessions expire after the gateway's idle timeout (10 minutes by default) without this. */
  heartbeat(): Promise<void>;
  close(): Promise<void>;
}

export interface SqlGatewayClient {
  info(): Promise<{ productName: string; version: string }>;
  openSession(properties?: Record<string, string>): Promise<SqlGatewaySession>;
}

interface ResultPage {
  resultType: 'NOT_READY' | 'PAYLOAD' | 'EOS';
  jobID?: string;
  nextResultUri?: string;
  results?: { columns?: { name: string }[]; data?: { kind: string; fields: unknown[] }[] };
}

/**
 * The gateway reports failures as a Java stack trace in `errors[1]`; its first line is a generic
 * wrapper and the useful sentence is the innermost `Caused by:`.
 */
export function rootCause(errors: unknown): string {
  const texts = Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
  const trace = texts.find((t) => t.includes('Exception')) ?? texts.join('; ');
  const causes = [...trace.matchAll(/Caused by: (?:[\w.$]+: )?([^\n]+)/g)];
  const last = causes.at(-1)?.[1];
  return (last ?? texts[0] ?? 'unknown error').trim();
}

export function createSqlGatewayClient(options: SqlGatewayClientOptions): SqlGatewayClient {
  const base = options.url.replace(/\/$/, '');
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 120_000;
  const pollIntervalMs = options.pollIntervalMs ?? 100;

  async function request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: T }> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (err) {
      const reason =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new SqlGatewayError(
        'SQL_GATEWAY_UNREACHABLE',
        `Flink SQL Gateway at ${base} did not answer ${method} ${path}: ${reason}`,
      );
    }
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = { errors: [text] };
    }
    return { status: res.status, json: json as T };
  }

  async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const { status, json } = await request<T & { errors?: unknown }>(method, path, body);
    if (status >= 400) {
      throw new SqlGatewayError(
        'SQL_GATEWAY_HTTP_ERROR',
        `${method} ${path} answered ${status}: ${rootCause(json.errors)}`,
        JSON.stringify(json.errors),
      );
    }
    return json;
  }

  function session(handle: string): SqlGatewaySession {
    const prefix = `/v2/sessions/${encodeURIComponent(handle)}`;
    return {
      handle,
      async execute(statement) {
        const deadline = Date.now() + statementTimeoutMs;
        const { operationHandle } = await call<{ operationHandle: string }>('POST', `${prefix}/statements`, {
          statement,
        });
        const out: StatementResult = { columns: [], rows: [], jobId: undefined };
        let next: string | undefined = `${prefix}/operations/${operationHandle}/result/0?rowFormat=JSON`;
        while (next !== undefined) {
          const page: { status: number; json: ResultPage & { errors?: unknown } } = await request('GET', next);
          const { status, json } = page;
          if (status >= 400) {
            const summary = statement.replace(/\s+/g, ' ').slice(0, 120);
            throw new SqlGatewayError(
              'SQL_STATEMENT_FAILED',
              `${rootCause(json.errors)} (statement: ${summary})`,
              JSON.stringify(json.errors),
            );
          }
          if (json.jobID) out.jobId = json.jobID;
          if (json.results?.columns && out.columns.length === 0) out.columns = json.results.columns.map((c) => c.name);
          for (const row of json.results?.data ?? []) out.rows.push(row.fields);
          if (json.resultType === 'EOS') break;
          if (Date.now() > deadline) {
            await call('DELETE', `${prefix}/operations/${operationHandle}/close`).catch(() => undefined);
            throw new SqlGatewayError(
              'SQL_STATEMENT_TIMEOUT',
              `statement still running after ${statementTimeoutMs} ms`,
            );
          }
          if (json.resultType === 'NOT_READY') await sleep(pollIntervalMs);
          next = json.nextResultUri ?? next;
        }
        await call('DELETE', `${prefix}/operations/${operationHandle}/close`).catch(() => undefined);
        return out;
      },
      async heartbeat() {
        await call('POST', `${prefix}/heartbeat`, {});
      },
      async close() {
        await call('DELETE', prefix).catch(() => undefined);
      },
    };
  }

  return {
    info: () => call<{ productName: string; version: string }>('GET', '/v2/info'),
    async openSession(properties = {}) {
      const { sessionHandle } = await call<{ sessionHandle: string }>('POST', '/v2/sessions', { properties });
      return session(sessionHandle);
    },
  };
}
