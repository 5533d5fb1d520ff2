// A short list of deliberate rules on top of the recommended sets.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Each adapter folder and the drivers only it may import. */
const DRIVERS = {
  kafka: ['kafkajs'],
  timescale: ['pg', 'pg-copy-streams'],
  trino: ['trino-client'],
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'build/',
      '.stack/',
      'tests/generated/',
      'src/graphiql/dist/',
      'bench/results/',
      'bench/out/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings through src/config.ts (loadConfig).' },
      ],
    },
  },
  // Adapters are the only importers of their drivers: a driver's types, errors and quirks stay in
  // its folder, and the rest of the gateway speaks of services and AppErrors. One block per adapter
  // folder (and one for everything else), because a later block's rule replaces an earlier one's.
  ...[undefined, ...Object.keys(DRIVERS)].map((own) => ({
    files: own ? [`src/${own}/**/*.ts`] : ['src/**/*.ts'],
    ignores: own ? [] : Object.keys(DRIVERS).map((folder) => `src/${folder}/**`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: Object.entries(DRIVERS)
            .filter(([folder]) => folder !== own)
            .flatMap(([folder, names]) =>
              names.map((name) => ({ name, message: `Only src/${folder}/ imports ${name}; use its services.` })),
            ),
        },
      ],
    },
  })),
  {
    // HTTP to other services (the Flink REST API, Trino's /v1/info) goes through their adapter folders.
    files: ['src/**/*.ts'],
    // src/demo is a client of the gateway's own HTTP API.
    ignores: ['src/flink/**', 'src/trino/**', 'src/graphiql/client/**', 'src/demo/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'Only the adapters (src/flink, src/trino) call other services over HTTP.' },
      ],
    },
  },
  {
    // The config module is the one place that reads the environment; scripts pass it to children.
    files: ['src/config.ts', 'scripts/**', 'tests/**', 'bench/**', 'stack/lib/process.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
