import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateToken } from '../../src/token/index.js';
import { freePort } from '../support/free-port.js';
import { bearer } from '../support/http.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { createTestApp, issueKey, TEST_PEPPER, type TestApp } from '../support/test-app.js';
import { cliJson } from '../cli/cli-helpers.js';
import { dropRole, uniqueRole, urlAs } from '../support/guard-role.js';

/**
 * @keyledger/nestjs as a user meets it: `npm pack`, then two new apps outside this repository
 * (CommonJS, as `nest new --type cjs` makes them, and ES modules) install the tarball from disk
 * and Nest, pg and TypeScript from the npm registry, compile under the strictest settings with
 * the package's declarations checked, and guard routes against the registry's database.
 */

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const packageDir = join(root, 'packages', 'nestjs');

/** What a Nest 12 app on Fastify already has, at the versions this repository uses (so the npm cache serves them). */
function baseDependencies(): string[] {
  const version = (name: string): string =>
    (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  return ['@nestjs/common', '@nestjs/core', '@nestjs/platform-fastify', 'reflect-metadata', 'rxjs', 'pg', 'typescript', '@types/node'].map(
    (name) => `${name}@${version(name)}`,
  );
}

const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'ES2023',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    outDir: 'dist',
    rootDir: 'src',
    types: ['node'],
  },
  include: ['src'],
};

/** The service of docs/guard.md: one scoped route, one @Public() route, every other route guarded. */
const MAIN_TS = `import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiKeyAuthModule, CurrentApiKey, Public, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';

@Controller()
class ReportsController {
  @Get('reports')
  @RequireApiKey({ scopes: ['reports:read'] })
  reports(@CurrentApiKey() key: ApiKeyPrincipal): { tenantId: string; region: string | null } {
    return { tenantId: key.tenantId, region: key.tags['region'] ?? null };
  }

  @Get('me')
  me(@CurrentApiKey() key: ApiKeyPrincipal): { publicId: string } {
    return { publicId: key.publicId };
  }

  @Get('ping')
  @Public()
  ping(): { ok: true } {
    return { ok: true };
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(name + ' is not set');
  return value;
}

@Module({
  imports: [
    ApiKeyAuthModule.forRoot({
      databaseUrl: required('KEYLEDGER_DATABASE_URL'),
      pepper: required('KEYLEDGER_KEY_PEPPER'),
      guardAllRoutes: true,
    }),
  ],
  controllers: [ReportsController],
})
class AppModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(Number(required('PORT')), '127.0.0.1');
}

void bootstrap();
`;

async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

const install = (cwd: string, specs: string[]): Promise<string> =>
  npm(cwd, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...specs]);

/** Kilobytes on disk under `dir` (du -sk). */
async function diskKb(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sk', dir]);
  return Number(stdout.split('\t')[0]);
}

interface ScratchApp {
  dir: string;
  url: string;
  child: ChildProcess;
  output: () => string;
}

/** Creates, installs and compiles an app of the given module system. */
async function createScratchApp(
  parent: string,
  type: 'commonjs' | 'module',
  tarball: string,
  measure?: (kb: number) => void,
): Promise<string> {
  const dir = join(parent, type === 'module' ? 'esm-app' : 'cjs-app');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `scratch-${type}`, version: '0.0.0', private: true, type }, null, 2));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  writeFileSync(join(dir, 'src', 'main.ts'), MAIN_TS);
  if (measure) {
    // The footprint: node_modules with Nest, pg and TypeScript, then with the package added.
    await install(dir, baseDependencies());
    const before = await diskKb(join(dir, 'node_modules'));
    await install(dir, [tarball]);
    measure((await diskKb(join(dir, 'node_modules'))) - before);
  } else {
    await install(dir, [...baseDependencies(), tarball]);
  }
  await run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir }).catch(
    (error: Error & { stdout?: string }) => {
      throw new Error(`the ${type} app does not compile:\n${error.stdout || error.message}`);
    },
  );
  return dir;
}

async function start(dir: string, databaseUrl: string): Promise<ScratchApp> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), KEYLEDGER_DATABASE_URL: databaseUrl, KEYLEDGER_KEY_PEPPER: TEST_PEPPER },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  const url = `http://127.0.0.1:${port}`;
  // Starting a process is asynchronous: it is up once it answers its public route (within 60 s).
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null) throw new Error(`the app in ${dir} exited (${child.exitCode}): ${output}`);
    if (Date.now() > deadline) throw new Error(`the app in ${dir} did not start within 60 s: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { dir, url, child, output: () => output };
}

async function stop(app: ScratchApp | undefined): Promise<void> {
  if (!app || app.child.exitCode !== null) return;
  const exited = new Promise((resolve) => app.child.once('exit', resolve));
  app.child.kill('SIGTERM');
  await exited;
}

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('@keyledger/nestjs, packed and installed into new apps', () => {
  const scratch = makeTestTempDir();
  let tarball: string;
  let footprintKb = Number.NaN;
  let registry: TestApp;
  const role = uniqueRole();
  const apps: Partial<Record<'commonjs' | 'module', ScratchApp>> = {};

  beforeAll(async () => {
    // dist/ was built by `npm test`'s build: pack it as it is (a prepack rebuild would replace it under other test files).
    const packed = JSON.parse(await npm(packageDir, ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch])) as {
      filename: string;
    }[];
    tarball = join(scratch, packed[0].filename);
    registry = await createTestApp();
    // The apps connect as a service would: with a role from `keyledger guard-role create` (read api_keys, LISTEN).
    const created = await cliJson<{ role: string; password: string }>(['guard-role', 'create', role]);
    const asGuardRole = urlAs(created.role, created.password);
    const [cjs, esm] = await Promise.all([
      createScratchApp(scratch, 'commonjs', tarball, (kb) => (footprintKb = kb)),
      createScratchApp(scratch, 'module', tarball),
    ]);
    apps.commonjs = await start(cjs, asGuardRole);
    apps.module = await start(esm, asGuardRole);
  }, 600_000);

  afterAll(async () => {
    await stop(apps.commonjs);
    await stop(apps.module);
    await registry?.close();
    await dropRole(role);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('passes publint and are-the-types-wrong (ES modules only, as Nest 12 itself)', async () => {
    await expect(
      run(process.execPath, [join(root, 'node_modules', 'publint', 'src', 'cli.js'), packageDir, '--strict']),
    ).resolves.toBeDefined();
    await expect(
      run(process.execPath, [join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarball, '--profile', 'esm-only']),
    ).resolves.toBeDefined();
  });

  it('ships its license, declarations and code, and no tests', () => {
    const manifest = JSON.parse(
      readFileSync(join(apps.commonjs!.dir, 'node_modules', '@keyledger', 'nestjs', 'package.json'), 'utf8'),
    ) as Record<string, unknown>;
    const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.license).toBe(rootManifest.license);
    expect(readFileSync(join(apps.commonjs!.dir, 'node_modules', '@keyledger', 'nestjs', 'LICENSE'), 'utf8')).toBe(
      readFileSync(join(root, 'LICENSE'), 'utf8'),
    );
    expect(manifest.peerDependencies).toEqual(
      expect.objectContaining({
        '@nestjs/common': expect.any(String),
        '@nestjs/core': expect.any(String),
        'reflect-metadata': expect.any(String),
        rxjs: expect.any(String),
      }),
    );
    expect(manifest.peerDependenciesMeta).toEqual({ '@nestjs/swagger': { optional: true } });
    const shipped = readdirSync(join(apps.commonjs!.dir, 'node_modules', '@keyledger', 'nestjs'), { recursive: true }).map(String);
    expect(shipped).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts']));
    expect(shipped.filter((file) => file.includes('.spec.'))).toEqual([]);
  });

  it('adds less than 5 MB beyond Nest and pg (docs/guard.md)', () => {
    console.log(`@keyledger/nestjs install footprint beyond Nest, pg and TypeScript: ${footprintKb} KB`);
    expect(footprintKb).toBeGreaterThan(0);
    expect(footprintKb).toBeLessThan(5 * 1024);
  });

  describe.each(['commonjs', 'module'] as const)('in a %s app', (type) => {
    const url = (): string => apps[type]!.url;

    it('answers 200 with the principal to a key holding the scope, at its first request', async () => {
      const tenantId = `t-${type}-${Date.now()}`;
      const key = await issueKey(registry.app, { tenantId, scopes: ['reports:read'], tags: { region: 'eu' } });
      const res = await get(`${url()}/reports`, bearer(key.token));
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { tenantId, region: 'eu' } });
      expect((await get(`${url()}/me`, { 'x-api-key': key.token })).body).toEqual({ publicId: key.publicId });
    });

    it('answers 401 in the one error shape without a key, and to an unknown one', async () => {
      const missing = await get(`${url()}/reports`);
      expect({ status: missing.status, body: missing.body }).toEqual({
        status: 401,
        body: { statusCode: 401, code: 'AUTH.MISSING_KEY', message: expect.any(String) },
      });
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="keyledger"');
      expect((await get(`${url()}/me`)).status).toBe(401); // guardAllRoutes: no decorator, still guarded

      const unknown = await get(`${url()}/reports`, bearer(generateToken().token));
      expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 401, code: 'AUTH.NOT_FOUND' });
    });

    it('answers 403 AUTH.INSUFFICIENT_SCOPE to a valid key without the scope', async () => {
      const key = await issueKey(registry.app, { scopes: ['invoices:read'] });
      const res = await get(`${url()}/reports`, bearer(key.token));
      expect({ status: res.status, body: res.body }).toEqual({
        status: 403,
        body: { statusCode: 403, code: 'AUTH.INSUFFICIENT_SCOPE', message: expect.stringContaining('reports:read') },
      });
    });

    it('serves a @Public() route without a key', async () => {
      const res = await get(`${url()}/ping`);
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { ok: true } });
    });
  });
});
