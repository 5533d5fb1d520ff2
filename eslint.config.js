// A short list of deliberate rules on top of the recommended sets.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Adapters are the only importers of their drivers (docs/architecture.md#who-may-import-what);
// tests/unit/imports.test.ts checks the same, dynamic imports included.
const DRIVERS = {
  kafkajs: 'src/kafka',
  pg: 'src/timescale',
  'pg-copy-streams': 'src/timescale',
  'trino-client': 'src/trino',
};
const driversOutside = (folder) => {
  const names = Object.keys(DRIVERS).filter((name) => DRIVERS[name] !== folder);
  return [
    'error',
    {
      paths: names.map((name) => ({ name, message: `Only ${DRIVERS[name]}/ imports ${name}; use its adapter.` })),
      patterns: names.map((name) => ({ group: [`${name}/*`], message: `Only ${DRIVERS[name]}/ imports ${name}.` })),
    },
  ];
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
  { files: ['src/**'], rules: { 'no-restricted-imports': driversOutside(undefined) } },
  ...[...new Set(Object.values(DRIVERS))].map((folder) => ({
    files: [`${folder}/**`],
    rules: { 'no-restricted-imports': driversOutside(folder) },
  })),
  {
    // The config module is the one place that reads the environment; scripts pass it to children.
    files: ['src/config.ts', 'scripts/**', 'tests/**', 'bench/**', 'stack/lib/process.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
