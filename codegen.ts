/**
 * GraphQL Code Generator: typed documents for the operations under tests/documents, generated from
 * the checked-in schema.graphql into tests/generated/. `npm run codegen` rewrites them;
 * tests/unit/generated-drift.test.ts fails when they are stale.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['tests/documents/**/*.graphql'],
  ignoreNoDocuments: true,
  // ESM: generated relative imports carry their .js extension.
  emitLegacyCommonJSImports: false,
  generates: {
    'tests/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
