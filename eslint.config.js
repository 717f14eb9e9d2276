// ESLint (flat config): the recommended JavaScript and TypeScript rules, run by .ci/run as `npm run lint`.
// Formatting is prettier's (`npm run format:check`); this file holds only what a formatter cannot see.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config({ ignores: ['node_modules/', 'out/', 'fixtures/', '**/*.d.mts'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  languageOptions: { globals: { ...globals.node } },
  rules: {
    // Unused names are already refused by tsc (noUnusedLocals, noUnusedParameters); `_x` marks a deliberate one.
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    // Lines a formatter cannot break (long strings, template literals) still have a limit.
    'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }],
    eqeqeq: ['error', 'always', { null: 'ignore' }],
    'no-var': 'error',
    'prefer-const': 'error',
  },
});
