/**
 * Statements with `?` placeholders, run as `EXECUTE <name> USING <values>`.
 *
 * Trino's HTTP protocol has no bind parameters: EXECUTE's values travel as SQL literals. So the
 * statement texts are constants of this folder, and the only values ever rendered are typed ones
 * that came through validation (a catalogue metric, an instant, a whole number). Each renderer
 * refuses anything else, so a value that slipped past validation fails loudly instead of becoming
 * SQL.
 *
 * The statement text itself goes in the `X-Trino-Prepared-Statement` request header, the way
 * Trino's JDBC driver sends it, instead of a separate PREPARE round trip. That keeps no state in
 * the client between queries: trino-client would otherwise append every PREPARE to a header it
 * shares across all later queries of that client.
 */

export type SqlParam =
  /** A value from a closed set (a metric name): lower-case letters, digits and underscores only. */
  | { type: 'token'; value: string }
  | { type: 'bigint'; value: number }
  /** Rendered as TIMESTAMP '... UTC' with millisecond precision. */
  | { type: 'timestamp'; value: Date }
  /** An IANA zone name that passed validation ("Europe/Berlin", "Etc/GMT+5"): no quotes, no spaces. */
  | { type: 'zone'; value: string };

export interface PreparedStatement {
  /** The name EXECUTE refers to; also shows in Trino's query list. */
  name: string;
  /** Constant text with `?` placeholders, one per entry of `params`. */
  sql: string;
  params: readonly SqlParam[];
}

const TOKEN = /^[a-z][a-z0-9_]{0,63}$/;
const ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;
const NAME = /^[a-z][a-z0-9_]{0,63}$/;

export class SqlRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlRenderError';
  }
}

/** `2026-11-24T10:15:30.123Z` -> `TIMESTAMP '2026-11-24 10:15:30.123 UTC'`. */
function timestampLiteral(value: Date): string {
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  // Years outside 0000-9999 print as +275760-... which Trino cannot parse; validation keeps
  // requests far inside this, so hitting it here is a programming error.
  if (!Number.isFinite(ms) || ms < Date.UTC(0, 0, 1) || ms > Date.UTC(9999, 11, 31)) {
    throw new SqlRenderError(`expected a Date between years 0 and 9999, got ${String(value)}`);
  }
  const iso = value.toISOString();
  return `TIMESTAMP '${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC'`;
}

export function renderLiteral(param: SqlParam): string {
  switch (param.type) {
    case 'token':
      if (typeof param.value !== 'string' || !TOKEN.test(param.value)) {
        throw new SqlRenderError(`expected a lower snake case token, got ${JSON.stringify(param.value)}`);
      }
      return `'${param.value}'`;
    case 'bigint':
      if (!Number.isSafeInteger(param.value)) {
        throw new SqlRenderError(`expected a whole number, got ${String(param.value)}`);
      }
      return String(param.value);
    case 'timestamp':
      return timestampLiteral(param.value);
    case 'zone':
      if (typeof param.value !== 'string' || param.value.length > 64 || !ZONE.test(param.value)) {
        throw new SqlRenderError(`expected a time zone name, got ${JSON.stringify(param.value)}`);
      }
      return `'${param.value}'`;
    default: {
      const never: never = param;
      throw new SqlRenderError(`unknown parameter type ${JSON.stringify(never)}`);
    }
  }
}

function placeholders(sql: string): number {
  // The constant texts here hold no string literals, so every `?` is a placeholder.
  return (sql.match(/\?/g) ?? []).length;
}

/** The text sent as the query: `EXECUTE name USING v1, v2, ...`. */
export function executeSql(statement: PreparedStatement): string {
  if (!NAME.test(statement.name)) throw new SqlRenderError(`bad statement name ${JSON.stringify(statement.name)}`);
  const expected = placeholders(statement.sql);
  if (expected !== statement.params.length) {
    throw new SqlRenderError(`${statement.name}: ${expected} placeholders but ${statement.params.length} values`);
  }
  if (statement.params.length === 0) return `EXECUTE ${statement.name}`;
  return `EXECUTE ${statement.name} USING ${statement.params.map(renderLiteral).join(', ')}`;
}

/** Value of the X-Trino-Prepared-Statement header: `name=<url-encoded text>`. */
export function preparedStatementHeader(statement: PreparedStatement): string {
  return `${encodeURIComponent(statement.name)}=${encodeURIComponent(statement.sql)}`;
}
