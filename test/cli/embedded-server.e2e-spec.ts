import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { startAppProcess, type AppProcess } from '../support/app-process.js';
import { freePort } from '../support/free-port.js';
import { CLI_TEST_TIMEOUT, cli, cliEnv, cliJson, cliOk, lines, tempDataDir, type KeyJson } from './cli-helpers.js';
import { bearer } from '../support/http.js';

/**
 * The first hour: `npm start` (embedded PostgreSQL, on whatever EMBEDDED_PG_PORT was set), then
 * `keyledger …` in another terminal with the same DATA_DIR and none of the server's other settings.
 */
describe('keyledger next to a server running the embedded PostgreSQL', () => {
  const dataDir = tempDataDir();
  const runtimeFile = join(dataDir.path, 'embedded-postgres.json');
  let server: AppProcess | undefined;
  let pgPort: number;
  /** What a user has in the other terminal: DATA_DIR, nothing else (no DATABASE_URL, no pepper, no port). */
  const userEnv = (overrides: Record<string, string> = {}): NodeJS.ProcessEnv =>
    cliEnv({
      DATABASE_URL: undefined,
      KEY_PEPPER: undefined,
      RUN_MIGRATIONS: undefined,
      EMBEDDED_PG_PORT: undefined,
      DATA_DIR: dataDir.path,
      ...overrides,
    });

  beforeAll(async () => {
    pgPort = await freePort();
    // Creates the cluster (initdb: the slow part of a first start) and its schema, and stops it again.
    await cliOk(['migrate'], userEnv({ EMBEDDED_PG_PORT: String(pgPort) }));
    // DATABASE_URL '' is unset for the server: the embedded default; its pepper is the one it keeps in DATA_DIR.
    server = await startAppProcess({ DATABASE_URL: '', KEY_PEPPER: '', DATA_DIR: dataDir.path, EMBEDDED_PG_PORT: String(pgPort) });
  }, CLI_TEST_TIMEOUT);
  afterAll(async () => {
    if (server?.exitCode() === undefined) {
      server?.child.kill('SIGTERM');
      await server?.exited;
    }
    dataDir.remove();
  }, CLI_TEST_TIMEOUT);

  let created: KeyJson;

  it(
    'finds the server’s database whatever EMBEDDED_PG_PORT the server was given, and says nothing on stderr',
    async () => {
      const result = await cli(['keys', 'create', '--tenant', 'acme', '--name', 'first hour', '--json'], userEnv());
      expect(result).toMatchObject({ code: 0, stderr: '' });
      created = JSON.parse(result.stdout) as KeyJson;
      // The same database and pepper as the server: the key works there at once.
      await request(server!.url).get('/examples/whoami').set(bearer(created.key!)).expect(200);
      expect(JSON.parse(readFileSync(runtimeFile, 'utf8'))).toEqual({
        host: '127.0.0.1',
        port: pgPort,
        database: 'keyledger',
        pid: server!.child.pid,
      });
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'the server removes what it left in DATA_DIR when it stops cleanly',
    async () => {
      server!.child.kill('SIGTERM');
      expect(await server!.exited).toBe(0);
      expect(existsSync(runtimeFile)).toBe(false);
    },
    CLI_TEST_TIMEOUT,
  );

  describe('after a server that died (its file left behind)', () => {
    let busy: Server;
    let busyPort: number;
    const deadPort = (): Promise<number> => freePort();

    beforeAll(async () => {
      // What a server killed with SIGKILL leaves: the file, naming a port nothing listens on.
      writeFileSync(runtimeFile, JSON.stringify({ host: '127.0.0.1', port: await deadPort(), database: 'keyledger', pid: 2 ** 22 + 1 }));
      busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      busyPort = (busy.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

    it(
      'a cluster that cannot start is exit 1 and one line on stderr',
      async () => {
        const result = await cli(['keys', 'list'], userEnv({ EMBEDDED_PG_PORT: String(busyPort) }));
        expect(result).toMatchObject({ code: 1, stdout: '' });
        expect(lines(result.stderr)).toHaveLength(1);
        expect(result.stderr).toMatch(
          new RegExp(`^keyledger: the embedded PostgreSQL in ${dataDir.path}/pg \\(port ${busyPort}\\) did not start: `),
        );
      },
      CLI_TEST_TIMEOUT,
    );

    it(
      'the stale file is ignored: the CLI starts the cluster for its one command, then stops it',
      async () => {
        const page = await cliJson<{ items: KeyJson[] }>(
          ['keys', 'list', '--tenant', 'acme'],
          userEnv({ EMBEDDED_PG_PORT: String(await freePort()) }),
        );
        expect(page.items.map((k) => k.id)).toEqual([created.id]);
        expect(existsSync(runtimeFile)).toBe(false);
      },
      CLI_TEST_TIMEOUT,
    );
  });
});
