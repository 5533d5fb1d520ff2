/**
 * Parse and validation of operation texts, each distinct text once. Thousands of dashboards send
 * the same subscription: sharing one document saves a parse and a validation per subscribe, and
 * the AST's memory per subscriber. (Apollo Server keeps its own store of parsed documents for the
 * HTTP path and validates them with the same rules.)
 */
import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { withExtensions } from '../errors.js';

/** Distinct operation texts whose parsed and validated document is kept. */
const DOCUMENT_CACHE_SIZE = 500;

/** graphql-js's own errors carry no code; Apollo names them on the HTTP path, and so does this. */
export function withCode(err: GraphQLError, code: string): GraphQLError {
  return err.extensions['code'] !== undefined ? err : withExtensions(err, { code });
}

/** The document of a text, or the errors that refuse it (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED). */
export type DocumentOf = (query: string) => DocumentNode | readonly GraphQLError[];

export function documentCache(
  schema: GraphQLSchema,
  rules: readonly ValidationRule[],
  maxTokens: number | undefined,
): DocumentOf {
  const cache = new Map<string, DocumentNode | readonly GraphQLError[]>();
  return (query) => {
    let entry = cache.get(query);
    if (entry === undefined) {
      try {
        const document = parse(query, maxTokens ? { maxTokens } : undefined);
        const errors = validate(schema, document, rules);
        entry = errors.length > 0 ? errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED')) : document;
      } catch (err) {
        // A document nested deeply enough overflows the parser's stack: a client's mistake, not a crash.
        entry = [
          err instanceof GraphQLError
            ? withCode(err, 'GRAPHQL_PARSE_FAILED')
            : new GraphQLError('Syntax Error: the document is nested too deeply', {
                extensions: { code: 'GRAPHQL_PARSE_FAILED' },
              }),
        ];
      }
      if (cache.size >= DOCUMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      cache.set(query, entry);
    }
    return entry;
  };
}
