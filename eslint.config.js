import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports a folder may not make: `core/` and `schemas/` are leaves, `connector/` and `consumers/` stand apart, `cli/` assembles. */
const layer = (files, folders) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: folders.map((folder) => `**/${folder}/**`),
            message: `${files[0].split('/')[0]}/ may not import from ${folders.join('/, ')}/; cli/ wires the parts together.`,
          },
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.stack/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  layer(['core/**/*.ts'], ['connector', 'consumers', 'cli', 'stack']),
  layer(['schemas/**/*.ts'], ['connector', 'consumers', 'cli', 'stack']),
  layer(['connector/**/*.ts'], ['consumers', 'cli', 'stack']),
  layer(['consumers/**/*.ts'], ['connector', 'cli', 'stack']),
);
