import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['.ci/**', 'dist/**', 'packages/*/dist/**', 'node_modules/**', 'coverage/**', '.data/**', '**/*.mjs', '**/*.js'] },
  // Compiled (strict) by its own test, against types generated from the OpenAPI document at test time.
  { ignores: ['test/openapi-client/client.ts'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.jest },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // One-line `if (x) return y;` stays; a body on another line gets braces.
      curly: ['error', 'multi-line'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The web console runs in the browser and has its own tsconfig (DOM lib, Preact JSX).
    files: ['console/**/*.ts', 'console/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // The guard package knows nothing of the registry (docs/ARCHITECTURE.md): nothing outside its own folder.
    files: ['packages/nestjs/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*', '@keyledger/*'], message: '@keyledger/nestjs imports nothing from the registry' }] },
      ],
    },
  },
  {
    // The example is written as a sibling service would write it: the guard's API only, never the registry's plumbing.
    files: ['src/examples/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@keyledger/nestjs/internal',
              message: "a service uses the guard API, @keyledger/nestjs; /internal is the registry's plumbing",
            },
          ],
        },
      ],
    },
  },
  {
    // A test's temp folders carry the run's name, so the global teardown can check each test removed its own.
    files: ['test/**/*.ts'],
    ignores: ['test/support/temp-dir.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        ...['node:fs', 'node:fs/promises', 'fs', 'fs/promises'].map((name) => ({
          name,
          importNames: ['mkdtemp', 'mkdtempSync'],
          message: 'use makeTestTempDir() from test/support/temp-dir.ts',
        })),
      ],
    },
  },
  {
    // Test support lives once, in test/support/: a folder's own bearer, poll or error-shape helper drifts.
    files: ['test/**/*.ts'],
    ignores: ['test/support/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            ':matches(FunctionDeclaration, VariableDeclarator[init.type=/FunctionExpression$/])[id.name=/^(bearer|uniqueTenant|issueUsableKey|expectErrorShape|expectValidationError|eventually|until|waitUntil)$/]',
          message: 'use the one in test/support/ (http.ts, keys.ts, poll.ts)',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts', '**/*.e2e-spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
