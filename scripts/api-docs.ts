/**
 * `npm run docs:api`: writes docs/api.md, the API reference, from schema.graphql (itself emitted
 * from the type-graphql classes), with the hand-written notes of docs/api-notes/*.md (behaviour a
 * field description is too short for) after the intro. `--check` writes nothing and exits 1 when
 * docs/api.md is stale.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

const SOURCE = 'schema.graphql';
const TARGET = 'docs/api.md';
const NOTES = 'docs/api-notes';

/** The notes in file-name order; each starts with its own `###` heading. */
function readNotes(): string[] {
  return readdirSync(NOTES)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => readFileSync(`${NOTES}/${f}`, 'utf8').trim());
}

const anchor = (name: string): string => name.toLowerCase();
/** A type reference with its named type linked: `[Reading!]!` -> [`[Reading!]!`](#reading). */
function typeRef(t: { toString(): string }, schema: GraphQLSchema): string {
  const text = t.toString();
  const named = text.replace(/[[\]!]/g, '');
  const type = schema.getType(named);
  return type && !named.startsWith('__') ? `[\`${text}\`](#${anchor(named)})` : `\`${text}\``;
}
const oneLine = (s: string | null | undefined): string =>
  (s ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();

function args(list: readonly GraphQLArgument[], schema: GraphQLSchema): string {
  if (list.length === 0) return '';
  return list
    .map(
      (a) =>
        `\`${a.name}\`: ${typeRef(a.type, schema)}${a.defaultValue !== undefined ? ` = \`${JSON.stringify(a.defaultValue)}\`` : ''}`,
    )
    .join(', ');
}

function fieldTable(
  fields: readonly (GraphQLField<unknown, unknown> | GraphQLInputField)[],
  schema: GraphQLSchema,
  withArgs: boolean,
): string[] {
  const out = withArgs
    ? ['| field | arguments | type | description |', '| --- | --- | --- | --- |']
    : ['| field | type | description |', '| --- | --- | --- |'];
  for (const f of fields) {
    const deprecated =
      'deprecationReason' in f && f.deprecationReason ? ` **Deprecated:** ${oneLine(f.deprecationReason)}` : '';
    const a = withArgs && 'args' in f ? args(f.args, schema) : '';
    out.push(
      withArgs
        ? `| \`${f.name}\` | ${a} | ${typeRef(f.type, schema)} | ${oneLine(f.description)}${deprecated} |`
        : `| \`${f.name}\` | ${typeRef(f.type, schema)} | ${oneLine(f.description)}${deprecated} |`,
    );
  }
  return out;
}

function section(type: GraphQLNamedType, schema: GraphQLSchema): string[] {
  const out = [`### ${type.name}`, ''];
  if (type.description) out.push(type.description.trim(), '');
  if (isObjectType(type) || isInterfaceType(type)) {
    const fields = Object.values(type.getFields());
    out.push(
      ...fieldTable(
        fields,
        schema,
        fields.some((f) => f.args.length > 0),
      ),
    );
  } else if (isInputObjectType(type)) out.push(...fieldTable(Object.values(type.getFields()), schema, false));
  else if (isEnumType(type)) {
    out.push('| value | description |', '| --- | --- |');
    for (const v of type.getValues()) out.push(`| \`${v.name}\` | ${oneLine(v.description)} |`);
  } else if (isUnionType(type))
    out.push(
      `One of: ${type
        .getTypes()
        .map((t) => typeRef(t, schema))
        .join(', ')}`,
    );
  else if (isScalarType(type)) out.push(`Scalar${type.specifiedByURL ? `, specified by ${type.specifiedByURL}` : ''}.`);
  out.push('');
  return out;
}

export function renderApiDocs(sdl: string, notes: readonly string[] = readNotes()): string {
  const schema = buildSchema(sdl);
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(
    (t) => t != null,
  );
  const rootNames = new Set(roots.map((t) => t.name));
  const out = [
    '# API reference',
    '',
    `Generated from \`${SOURCE}\` and the notes in \`${NOTES}/\` by \`npm run docs:api\`; do not edit by hand. Queries and mutations: HTTP POST`,
    '`/graphql`; subscriptions: graphql-ws on the same path. Every error carries `extensions.code`',
    '(the codes are listed in `src/errors.ts`). A narrative tour is in the README; the contracts behind',
    'the API in [contracts.md](contracts.md).',
    '',
  ];
  if (notes.length > 0) out.push('## Notes', '', ...notes.flatMap((n) => [n, '']));
  for (const root of roots) {
    out.push(`## ${root.name}`, '');
    for (const f of Object.values(root.getFields())) {
      out.push(`### ${root.name}.${f.name}`, '');
      const a =
        f.args.length > 0
          ? `(${f.args.map((x) => `${x.name}: ${x.type.toString()}${x.defaultValue !== undefined ? ` = ${JSON.stringify(x.defaultValue)}` : ''}`).join(', ')})`
          : '';
      out.push('```graphql', `${f.name}${a}: ${f.type.toString()}`, '```', '');
      if (f.description) out.push(f.description.trim(), '');
      out.push(`Returns ${typeRef(f.type, schema)}.`, '');
    }
  }
  const types = Object.values(schema.getTypeMap())
    .filter((t) => !t.name.startsWith('__') && !rootNames.has(t.name))
    .sort((a, b) => a.name.localeCompare(b.name));
  const groups: [string, (t: GraphQLNamedType) => boolean][] = [
    ['Object types', (t) => isObjectType(t) || isInterfaceType(t) || isUnionType(t)],
    ['Input types', isInputObjectType],
    ['Enums', isEnumType],
    ['Scalars', isScalarType],
  ];
  for (const [title, match] of groups) {
    const list = types.filter(match);
    if (list.length === 0) continue;
    out.push(`## ${title}`, '');
    for (const t of list) out.push(...section(t, schema));
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

/** The rendered reference in the repository's Prettier style, so `npm run format:check` passes. */
export async function apiDocs(sdl: string): Promise<string> {
  const options = (await resolveConfig(TARGET)) ?? {};
  return format(renderApiDocs(sdl), { ...options, parser: 'markdown' });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = await apiDocs(readFileSync(SOURCE, 'utf8'));
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(TARGET, 'utf8');
    } catch {
      // No file yet: stale by definition.
    }
    if (current !== text) {
      console.error(`${TARGET} is stale: run npm run docs:api`);
      process.exit(1);
    }
    console.log(`${TARGET} is up to date`);
  } else {
    writeFileSync(TARGET, text);
    console.log(`wrote ${TARGET}`);
  }
}
