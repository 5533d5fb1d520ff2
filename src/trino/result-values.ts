/**
 * Reading values out of Trino's JSON rows. Trino sends bigint and double as JSON numbers, but
 * non-finite doubles as the strings "NaN" and "Infinity"; anything else means the statement and
 * its parser disagree, which is a bug worth a clear error rather than a NaN in an answer.
 */
import { TrinoError } from './trino.errors.js';
import { ErrorCode } from '../errors.js';

export function shapeError(statement: string, what: string, value: unknown): TrinoError {
  return new TrinoError(ErrorCode.TRINO_QUERY_FAILED, 'The aggregate query returned an unexpected result.', {
    detail: `${statement}: expected ${what}, got ${JSON.stringify(value)}`,
  });
}

export function numberOf(statement: string, value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
  throw shapeError(statement, 'a number', value);
}

export function integerOf(statement: string, value: unknown): number {
  const n = numberOf(statement, value);
  if (!Number.isSafeInteger(n)) throw shapeError(statement, 'a whole number', value);
  return n;
}

export function stringOf(statement: string, value: unknown): string {
  if (typeof value !== 'string') throw shapeError(statement, 'a string', value);
  return value;
}
