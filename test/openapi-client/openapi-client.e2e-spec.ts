import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

/** Runs a node script; on failure, what it printed is the message. */
async function node(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, args, { cwd: root, timeout: 120_000 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`node ${args.map((a) => a.replace(root, '.')).join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}

/**
 * What CI does with the OpenAPI document: generate a typed client with openapi-typescript, compile
 * test/openapi-client/client.ts against it (strict), and run it: it calls every operation and
 * reads every field of each success body, checking the value the server sent against the type.
 */
describe('a client generated from the OpenAPI document', () => {
  let sut: TestApp;
  let dir: string;
  beforeAll(async () => {
    sut = await createTestApp();
    // Inside the repository (the run's .test-data folder): tsc finds @types/node and the compiled
    // client finds openapi-fetch in the repository's node_modules.
    dir = join(process.env.KEYLEDGER_TEST_RUN_DIR ?? join(root, '.test-data'), `openapi-client-${randomUUID()}`);
    mkdirSync(dir, { recursive: true });
  });
  afterAll(async () => {
    await sut?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('compiles against the generated types, and every operation answers with the fields they promise', async () => {
    const admin = await issueKey(sut.app, { scopes: ['admin'] });
    writeFileSync(join(dir, 'openapi.json'), await fetch(`${sut.url}/docs-json`).then((res) => res.text()));
    await node('node_modules/openapi-typescript/bin/cli.js', join(dir, 'openapi.json'), '--output', join(dir, 'keyledger.ts'));
    copyFileSync(join(root, 'test', 'openapi-client', 'client.ts'), join(dir, 'client.ts'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2023',
          lib: ['ES2023', 'DOM'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          skipLibCheck: true,
          outDir: 'out',
        },
        files: ['client.ts'],
      }),
    );
    // ES module output, wherever the folder is (openapi-fetch is found in the repository's node_modules).
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await node('node_modules/typescript/bin/tsc', '-p', join(dir, 'tsconfig.json'));
    expect(await node(join(dir, 'out', 'client.js'), sut.url, admin.token)).toContain('every operation answered as documented');
    // Three child processes (generate, compile, run): about 10 s on an idle machine, much more while other suites run.
  }, 240_000);
});
