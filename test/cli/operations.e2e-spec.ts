import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { CLI_TEST_TIMEOUT, cliEnv, cliJson, cliOk, lines, startCli, tempDataDir, type KeyJson } from './cli-helpers.js';
import { freePort } from '../support/free-port.js';
import { eventually } from '../support/poll.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';

/** On a database of its own: rebuilding the shared audit log would pull rows from under other files' tests. */
describe('keyledger migrate, projections, serve', () => {
  let db: ScratchDatabase;
  // The server's defaults otherwise (BOOTSTRAP_ADMIN and RUN_MIGRATIONS on): the CLI must not act on them needlessly.
  const env = (overrides: Record<string, string> = {}): NodeJS.ProcessEnv =>
    cliEnv({ DATABASE_URL: db.url, RUN_MIGRATIONS: undefined, BOOTSTRAP_ADMIN: undefined, ...overrides });

  beforeAll(async () => {
    db = await createScratchDatabase('cli', { migrate: false });
  }, CLI_TEST_TIMEOUT);
  afterAll(async () => {
    await db?.drop();
  }, CLI_TEST_TIMEOUT);

  it(
    'migrate applies every migration to an empty database, and nothing when run again',
    async () => {
      const first = await cliOk(['migrate'], env());
      expect(first.stdout).toMatch(/^applied \d+ migration\(s\): EventStore\d+, /);
      expect(await cliJson(['migrate'], env())).toEqual({ applied: [] });
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'issues no bootstrap admin key: a CLI run is not a server start',
    async () => {
      const dataDir = tempDataDir();
      try {
        const platform = await cliJson<{ items: KeyJson[] }>(['keys', 'list', '--tenant', 'platform'], env({ DATA_DIR: dataDir.path }));
        expect(platform.items).toEqual([]);
        expect(existsSync(join(dataDir.path, 'bootstrap-admin.key'))).toBe(false);
      } finally {
        dataDir.remove();
      }
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'projections rebuild audit-log replays every event with progress on stderr and ends caught up',
    async () => {
      const created = await Promise.all(
        ['a', 'b', 'c'].map((name) => cliJson<KeyJson>(['keys', 'create', '--tenant', 'ops', '--name', name], env())),
      );
      await cliOk(['keys', 'revoke', created[0].id], env());

      const { stdout, stderr } = await cliOk(['projections', 'rebuild', 'audit-log'], env());
      expect(stderr).toMatch(/^audit-log \[-+\] 0\/4 events 0% 0 events\/s ETA \?$/m);
      expect(stderr).toMatch(/^audit-log: 4\/4 events \(100%\) in \d+\.\ds, [\d,]+ events\/s$/m);
      expect(stdout).toMatch(/^audit-log: rebuilt from 4 events; caught up at position \d+\n$/);

      const [status, verify] = await Promise.all([
        cliOk(['projections', 'status'], env()),
        cliJson<{ ok: boolean; checkedEvents: number }>(['audit', 'verify'], env()),
      ]);
      expect(lines(status.stdout)[0]).toMatch(/^NAME\s+KIND\s+POSITION\s+LAG\s+STATE$/);
      expect(status.stdout).toMatch(/^active-keys\s+inline\s+-\s+-\s+current/m);
      expect(status.stdout).toMatch(/^audit-log\s+async\s+\d+\s+0\s+caught up$/m);
      // Every event is back in the audit log, chained as before.
      expect(verify).toMatchObject({ ok: true, checkedEvents: 4 });
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'projections rebuild (all) also rebuilds the active-key read model from the events',
    async () => {
      const rebuilt = await cliJson<{ name: string; kind: string; events: number; lag: number }[]>(['projections', 'rebuild'], env());
      expect(rebuilt.map((r) => [r.name, r.kind, r.events, r.lag])).toEqual([
        ['active-keys', 'inline', 4, 0],
        ['tenant-policies', 'inline', 4, 0],
        ['webhook-endpoints', 'inline', 4, 0],
        ['webhook-outbox', 'async', 4, 0],
        ['audit-log', 'async', 4, 0],
      ]);
      const { items } = await cliJson<{ items: KeyJson[] }>(['keys', 'list', '--tenant', 'ops', '--include-revoked'], env());
      expect(items.map((k) => [k.name, k.status, k.version]).sort()).toEqual([
        ['a', 'revoked', 2],
        ['b', 'active', 1],
        ['c', 'active', 1],
      ]);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'serve runs the HTTP server until SIGTERM, then closes everything and exits 0',
    async () => {
      const port = await freePort();
      // The server issues its bootstrap admin key into DATA_DIR: a directory of its own, removed after.
      const dataDir = tempDataDir();
      const { child, done } = startCli(
        ['serve'],
        env({ PORT: String(port), METRICS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: dataDir.path }),
      );
      try {
        const health = await eventually(
          'the served app to answer /health',
          () => request(`http://127.0.0.1:${port}`).get('/health').expect(200),
          { timeoutMs: 90_000, intervalMs: 200 },
        );
        expect(health.body.database.ok).toBe(true);
      } finally {
        child.kill('SIGTERM');
      }
      try {
        expect(await done).toMatchObject({ code: 0, signal: null });
      } finally {
        dataDir.remove();
      }
    },
    CLI_TEST_TIMEOUT,
  );
});
