/**
 * A rule that files matching `from` reach a module of src/ only through its index.ts, or through
 * the paths in `allowed` (`$1` is the first group of `from`).
 * @returns {import('dependency-cruiser').IForbiddenRuleType}
 */
function throughIndex(name, comment, from, allowed = []) {
  return {
    name,
    severity: 'error',
    comment,
    from: { path: from },
    to: { path: '^src/[^/]+/', pathNot: ['^src/[^/]+/index\\.ts$', ...allowed] },
  };
}

/**
 * The module map (docs/ARCHITECTURE.md, "Module map"), checked by `npm run lint`.
 * A module is a top-level folder of src/; its index.ts is its only public surface.
 * @type {import('dependency-cruiser').IConfiguration}
 */
export default {
  forbidden: [
    {
      name: 'no-file-cycle',
      severity: 'error',
      comment: 'No import cycle between files (type-only imports included).',
      from: { path: '^(src|migrations|packages/nestjs/src)/' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment:
        'No import cycle between folders (modules, and folders inside a module); a unit spec that uses a test helper (specs-to-test-support) makes none.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true, pathNot: '^test/' },
    },
    throughIndex(
      'module-through-index',
      'Another module is imported only through its index.ts (src/<module>/index.ts), never a file inside it.',
      '^src/([^/]+)/',
      ['^src/$1/'],
    ),
    throughIndex(
      'tests-through-index',
      'Tests and benches use a module through its index.ts, as other modules do; the internals listed here are what they test or drive directly (docs/ARCHITECTURE.md).',
      '^(test|bench)/',
      [
        // The aggregate, its events and their serialization: chain tests and benches write events as the app would.
        '^src/keys/domain/',
        // The projections, run alone against generated events, and the rebuild's shadow table and replay query.
        '^src/(audit|keys)/projections/',
        '^src/event-store/(event-store|table-swap|transaction-id-check)\\.ts$',
        // The export's line writer, run against what the real PostgreSQL sends.
        '^src/audit/export/export-format\\.ts$',
        // The CLI's container and actor, and the embedded PostgreSQL and migration revert the operations tests drive.
        '^src/cli/(registry\\.module|cli-actor)\\.ts$',
        '^src/database/(embedded-postgres|migrations)\\.ts$',
      ],
    ),
    {
      name: 'not-own-index',
      severity: 'error',
      comment: "A module's index.ts is for other modules: its own files import each other directly.",
      from: { path: '^src/([^/]+)/', pathNot: ['^src/[^/]+/index\\.ts$', '\\.spec\\.ts$'] },
      to: { path: '^src/$1/index\\.ts$' },
    },
    throughIndex(
      'root-through-index',
      'main.ts, app.module.ts and configure-app.ts compose the modules through their index.ts.',
      '^src/[^/]+\\.ts$',
    ),
    {
      name: 'src-not-to-tests',
      severity: 'error',
      comment: 'Application code never imports tests or benchmarks.',
      from: { path: '^(src|packages|migrations)/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'specs-to-test-support',
      severity: 'error',
      comment: 'A unit spec next to the code may use the helpers tests share (test/support/), nothing else of test/ or bench/.',
      from: { path: '^(src|packages|migrations)/.*\\.spec\\.ts$' },
      to: { path: '^(test|bench)/', pathNot: '^test/support/' },
    },
    {
      name: 'migrations-standalone',
      severity: 'error',
      comment: 'A migration is frozen history: it imports nothing from src/.',
      from: { path: '^migrations/' },
      to: { path: '^src/' },
    },
    {
      name: 'guard-package-standalone',
      severity: 'error',
      comment: 'The guard package (@keyledger/nestjs) knows nothing of the registry.',
      from: { path: '^packages/nestjs/' },
      to: { path: '^(src|migrations|test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
