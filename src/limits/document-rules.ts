/**
 * Validation rules that bound what one document may ask for, before anything executes: selection
 * depth, aliases and operation definitions. Each reports an AppError, so the client sees the
 * limit's own code (formatError unwraps it from Apollo's GRAPHQL_VALIDATION_FAILED).
 */
import {
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { AppError, ErrorCode } from '../errors.js';

/** Introspection meta fields: their depth is fixed by the schema, and GraphiQL's query is deep. */
const isMeta = (name: string): boolean => name.startsWith('__');

/**
 * Deepest field nesting of each operation, following fragment spreads (each fragment at most once
 * per path, so a cycle, which another rule reports, cannot loop here).
 */
export function selectionDepth(
  set: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  stopAt: number,
  seen: ReadonlySet<string> = new Set(),
): number {
  let deepest = 0;
  for (const sel of set.selections) {
    let d = 0;
    if (sel.kind === Kind.FIELD) {
      if (isMeta(sel.name.value)) continue;
      d =
        1 +
        (sel.selectionSet && stopAt > 1
          ? selectionDepth(sel.selectionSet, fragments, stopAt - 1, seen)
          : sel.selectionSet
            ? 1
            : 0);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      d = selectionDepth(sel.selectionSet, fragments, stopAt, seen);
    } else {
      const name = sel.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) continue;
      d = selectionDepth(fragment.selectionSet, fragments, stopAt, new Set([...seen, name]));
    }
    if (d > deepest) deepest = d;
    // Past the limit the exact depth does not matter; stopping bounds the work on hostile documents.
    if (deepest > stopAt) return deepest;
  }
  return deepest;
}

function fragmentsOf(context: ValidationContext): Map<string, FragmentDefinitionNode> {
  const map = new Map<string, FragmentDefinitionNode>();
  for (const def of context.getDocument().definitions)
    if (def.kind === Kind.FRAGMENT_DEFINITION) map.set(def.name.value, def);
  return map;
}

export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    let fragments: Map<string, FragmentDefinitionNode> | undefined;
    return {
      OperationDefinition(node) {
        fragments ??= fragmentsOf(context);
        const depth = selectionDepth(node.selectionSet, fragments, maxDepth + 1);
        if (depth > maxDepth) {
          context.reportError(
            new AppError(ErrorCode.QUERY_TOO_DEEP, `query depth over the limit of ${maxDepth}`, {
              details: { limit: maxDepth },
            }),
          );
        }
        return false;
      },
    };
  };
}

export function aliasLimitRule(maxAliases: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    let aliases = 0;
    let reported = false;
    return {
      Field(node) {
        if (!node.alias || reported) return;
        aliases += 1;
        if (aliases > maxAliases) {
          reported = true;
          context.reportError(
            new AppError(ErrorCode.TOO_MANY_ALIASES, `more than ${maxAliases} aliased fields in one document`, {
              details: { limit: maxAliases },
            }),
          );
        }
      },
    };
  };
}

export function operationLimitRule(maxOperations: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    Document(node) {
      const operations = node.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
      if (operations > maxOperations) {
        context.reportError(
          new AppError(
            ErrorCode.TOO_MANY_OPERATIONS,
            `${operations} operations in one document; at most ${maxOperations}`,
            {
              details: { limit: maxOperations },
            },
          ),
        );
      }
    },
  });
}

/** The rules for the configured limits (a limit of 0 is off). */
export function documentRules(limits: {
  maxDepth: number;
  maxAliases: number;
  maxOperations: number;
}): ValidationRule[] {
  const rules: ValidationRule[] = [];
  if (limits.maxOperations > 0) rules.push(operationLimitRule(limits.maxOperations));
  if (limits.maxDepth > 0) rules.push(depthLimitRule(limits.maxDepth));
  if (limits.maxAliases > 0) rules.push(aliasLimitRule(limits.maxAliases));
  return rules;
}
