/** schema.graphql and the codegen output are checked in; these fail when either is stale. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generate } from '@graphql-codegen/cli';
import { printGatewaySchema } from '../../src/schema/build.js';
import codegenConfig from '../../codegen.js';
import { apiDocs } from '../../scripts/api-docs.js';

describe('generated files', () => {
  it('schema.graphql matches the type-graphql classes (run `npm run schema:emit`)', () => {
    expect(readFileSync('schema.graphql', 'utf8')).toBe(printGatewaySchema());
  });

  it('tests/generated matches codegen.ts over schema.graphql (run `npm run codegen`)', async () => {
    const files = (await generate({ ...codegenConfig, silent: true }, false)) as {
      filename: string;
      content: string;
    }[];
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(readFileSync(f.filename, 'utf8'), f.filename).toBe(f.content);
  }, 30_000);

  it('docs/api.md matches schema.graphql (run `npm run docs:api`)', async () => {
    expect(readFileSync('docs/api.md', 'utf8')).toBe(await apiDocs(readFileSync('schema.graphql', 'utf8')));
  });
});
