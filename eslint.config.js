// A short list of deliberate rules on top of the recommended sets.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  {
    // The config module is the one place that reads the environment; scripts pass it to children.
    files: ['src/config.ts', 'scripts/**', 'tests/**', 'bench/**', 'stack/lib/process.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
