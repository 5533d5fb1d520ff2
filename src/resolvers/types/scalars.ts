/** `scalar DateTime` (docs/contracts.md): an RFC 3339 string on the wire, a Date inside. */
import { GraphQLScalarType, Kind } from 'graphql';
import { AppError, ErrorCode } from '../../errors.js';
import { parseRfc3339 } from '../../domain/reading.js';
import { isoString } from '../../domain/iso-time.js';

export { isoString };

function parse(value: unknown): Date {
  if (typeof value !== 'string') throw new AppError(ErrorCode.INVALID_TIME, 'DateTime: expected an RFC 3339 string');
  const ms = parseRfc3339(value);
  if (Number.isNaN(ms)) {
    throw new AppError(
      ErrorCode.INVALID_TIME,
      `DateTime: expected RFC 3339 with an offset or Z, got "${value.slice(0, 40)}"`,
    );
  }
  return new Date(ms);
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An RFC 3339 timestamp with an offset or Z, e.g. 2026-11-24T10:15:30.000Z (millisecond precision).',
  serialize(value) {
    if (value instanceof Date) return isoString(value.getTime());
    if (typeof value === 'string' || typeof value === 'number') return new Date(value).toISOString();
    throw new TypeError('DateTime cannot represent this value');
  },
  parseValue: parse,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new AppError(ErrorCode.INVALID_TIME, 'DateTime: expected an RFC 3339 string');
    return parse(ast.value);
  },
});
