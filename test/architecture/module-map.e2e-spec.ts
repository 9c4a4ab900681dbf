import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeTestTempDir } from '../support/temp-dir.js';

/**
 * The module map `npm run lint` enforces (docs/ARCHITECTURE.md): the repository's own
 * .dependency-cruiser.mjs and scripts/check-table-access.mjs, run as the lint runs them, over a small
 * tree written here, so each rule is shown to refuse what it names and to pass what it allows.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function tree(files: Record<string, string>): string {
  const dir = makeTestTempDir();
  copyFileSync(join(ROOT, '.dependency-cruiser.mjs'), join(dir, '.dependency-cruiser.mjs'));
  const base: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } }),
    'migrations/index.ts': 'export const MIGRATIONS = [];\n',
    'packages/nestjs/src/index.ts': 'export const GUARD = 1;\n',
    'test/support/index.ts': 'export {};\n',
    'bench/support/index.ts': 'export {};\n',
    'src/config/index.ts': "export { loadConfig } from './config.js';\n",
    'src/config/config.ts': 'export function loadConfig(): number { return 1; }\n',
    'src/database/index.ts': "export { PG_POOL } from './database.tokens.js';\n",
    'src/database/database.tokens.ts': "import { loadConfig } from '../config/index.js';\nexport const PG_POOL = loadConfig();\n",
  };
  for (const [path, text] of Object.entries({ ...base, ...files })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

type Result = { status: number | null; output: string };

function node(dir: string, args: string[]): Result {
  const child = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
  return { status: child.status, output: child.stdout + child.stderr };
}

const cruise = (dir: string): Result =>
  node(dir, [
    DEPCRUISE,
    'src',
    'migrations',
    'packages/nestjs/src',
    'test',
    'bench',
    '--config',
    '.dependency-cruiser.mjs',
    '--output-type',
    'err',
  ]);
const tables = (dir: string): Result => node(dir, [join(ROOT, 'scripts', 'check-table-access.mjs')]);

describe('the module map (npm run lint)', () => {
  const dirs: string[] = [];
  const run = (files: Record<string, string>, check = cruise): Result => {
    const dir = tree(files);
    dirs.push(dir);
    return check(dir);
  };
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('passes modules that import each other through index.ts', () => {
    const result = run({ 'src/keys/repo.ts': "import { PG_POOL } from '../database/index.js';\nexport const pool = PG_POOL;\n" });
    expect(result).toEqual({ status: 0, output: expect.stringContaining('no dependency violations') as string });
  });

  it('refuses an import of a file inside another module', () => {
    const result = run({ 'src/keys/repo.ts': "import { PG_POOL } from '../database/database.tokens.js';\nexport const pool = PG_POOL;\n" });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('module-through-index: src/keys/repo.ts → src/database/database.tokens.ts');
  });

  it('refuses a cycle between modules', () => {
    const result = run({
      'src/config/index.ts': "export { loadConfig } from './config.js';\nexport { poolOf } from './pool-of.js';\n",
      'src/config/pool-of.ts': "import { PG_POOL } from '../database/index.js';\nexport const poolOf = (): number => PG_POOL;\n",
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/no-folder-cycle: src\/(config|database) →/);
  });

  it('refuses src importing a test, and the guard package importing src', () => {
    const result = run({
      'src/keys/repo.ts': "import { helper } from '../../test/support/helper.js';\nexport const h = helper;\n",
      'test/support/helper.ts': 'export const helper = 1;\n',
      'packages/nestjs/src/index.ts': "import { PG_POOL } from '../../../src/database/index.js';\nexport const GUARD = PG_POOL;\n",
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('src-not-to-tests: src/keys/repo.ts → test/support/helper.ts');
    expect(result.output).toContain('guard-package-standalone: packages/nestjs/src/index.ts → src/database/index.ts');
  });

  it("lets a unit spec use the tests' shared helpers (test/support/), and nothing else of test/", () => {
    const result = run({
      // The helper uses the module whose spec uses it: no folder cycle of the app.
      'src/database/pool.spec.ts': "import { helper } from '../../test/support/helper.js';\nexport const h = helper;\n",
      'src/keys/other.spec.ts': "import { hook } from '../../test/keys/hook.js';\nexport const h = hook;\n",
      'test/support/helper.ts': "import { PG_POOL } from '../../src/database/index.js';\nexport const helper = PG_POOL;\n",
      'test/keys/hook.ts': 'export const hook = 1;\n',
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('specs-to-test-support: src/keys/other.spec.ts → test/keys/hook.ts');
    expect(result.output).not.toContain('src/database/pool.spec.ts');
    expect(result.output).not.toContain('no-folder-cycle');
  });

  it('refuses a test or bench importing a module past its index.ts, and a file cycle in the guard package', () => {
    const result = run({
      'test/keys/repo.e2e-spec.ts': "import { PG_POOL } from '../../src/database/database.tokens.js';\nexport const pool = PG_POOL;\n",
      'bench/pool.bench.ts': "import { PG_POOL } from '../src/database/index.js';\nexport const pool = PG_POOL;\n",
      'packages/nestjs/src/index.ts': "export { GUARD } from './guard.js';\n",
      'packages/nestjs/src/guard.ts': "import { META } from './decorator.js';\nexport const GUARD = META;\n",
      'packages/nestjs/src/decorator.ts':
        "import { GUARD } from './guard.js';\nexport const META = 1;\nexport const uses = (): number => GUARD;\n",
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('tests-through-index: test/keys/repo.e2e-spec.ts → src/database/database.tokens.ts');
    expect(result.output).not.toContain('bench/pool.bench.ts');
    expect(result.output).toMatch(/no-file-cycle: packages\/nestjs\/src\/(guard|decorator)\.ts →/);
  });

  it('refuses SQL on the events table outside the event store', () => {
    const result = run(
      {
        'src/event-store/index.ts': "export const read = 'SELECT * FROM events';\n",
        'src/health/index.ts': "export const count = 'SELECT count(*) FROM events';\n",
      },
      tables,
    );
    expect(result.status).toBe(1);
    expect(result.output).toContain('src/health/index.ts:1: names the events table');
    expect(result.output).not.toContain('src/event-store/index.ts:1');
  });
});
