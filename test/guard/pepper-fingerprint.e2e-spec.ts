import { createHmac } from 'node:crypto';
import request from 'supertest';
import { revertLastMigration, runMigrations } from '../../src/database/migrations.js';
import { CLI_TEST_TIMEOUT, cli, cliEnv, tempDataDir } from '../cli/cli-helpers.js';
import { createTestApp, issueKey, TEST_PEPPER, type TestApp } from '../support/test-app.js';
import { createScratchDatabase, testDatabaseUrl, testPool, type ScratchDatabase } from '../support/test-database.js';
import { startGuardApp } from './guard-helpers.js';
import { bearer } from '../support/http.js';

const OTHER_PEPPER = 'another-pepper-0123456789abcdef0123456789abcdef';
const GUARD_REFUSAL =
  "the pepper given to ApiKeyAuthModule differs from the registry's KEY_PEPPER, the one this database's keys were issued with (their fingerprints in key_pepper_fingerprint differ): every key would be refused; give this service the registry's KEY_PEPPER";
const REGISTRY_REFUSAL =
  "KEY_PEPPER differs from the one this database's keys were issued with: every key would be refused; start the registry with its original KEY_PEPPER (or DATA_DIR/key-pepper)";

describe("the registry's pepper fingerprint", () => {
  let registry: TestApp;

  beforeAll(async () => {
    registry = await createTestApp(); // records TEST_PEPPER's fingerprint, if no registry did before
  });
  afterAll(() => registry?.close());

  it('is stored as an HMAC of a fixed label under the pepper, never the pepper', async () => {
    const pool = testPool(1);
    try {
      const { rows } = await pool.query<{ fingerprint: string }>('SELECT fingerprint FROM key_pepper_fingerprint');
      expect(rows).toEqual([{ fingerprint: createHmac('sha256', TEST_PEPPER).update('keyledger pepper fingerprint v1').digest('hex') }]);
    } finally {
      await pool.end();
    }
  });

  it('lets a guard with the same pepper start and verify', async () => {
    const key = await issueKey(registry.app);
    const guard = await startGuardApp(testDatabaseUrl(), TEST_PEPPER);
    try {
      await request(guard.url).get('/me').set(bearer(key.token)).expect(200);
    } finally {
      await guard.app.close();
    }
  });

  it.each([
    ['another pepper', OTHER_PEPPER],
    ['no pepper', undefined],
  ])('stops a guard with %s from starting, in one line naming neither pepper', async (_what, pepper) => {
    await expect(startGuardApp(testDatabaseUrl(), pepper, { listen: false })).rejects.toThrow(new Error(GUARD_REFUSAL));
    expect(GUARD_REFUSAL).not.toContain(TEST_PEPPER);
    expect(GUARD_REFUSAL).not.toContain(OTHER_PEPPER);
  });

  it(
    'stops the registry (CLI) with another KEY_PEPPER from starting: one line, exit 1',
    async () => {
      const result = await cli(['keys', 'list'], cliEnv({ KEY_PEPPER: OTHER_PEPPER }));
      expect(result).toMatchObject({ code: 1, stdout: '', stderr: `keyledger: ${REGISTRY_REFUSAL}\n` });
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'stops the registry (server) with another KEY_PEPPER from starting: exit 1, one line saying so',
    async () => {
      const dataDir = tempDataDir();
      try {
        const result = await cli(['serve'], cliEnv({ KEY_PEPPER: OTHER_PEPPER, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir.path }));
        expect(result.code).toBe(1);
        // The server's logs go to stdout; the refusal is its one line on stderr.
        // Its own guard checks the same fingerprint; whichever check runs first says so.
        const refusals = result.stderr
          .split('\n')
          .filter((line) => line.startsWith('keyledger: ') && [REGISTRY_REFUSAL, GUARD_REFUSAL].some((r) => line.endsWith(r)));
        expect(refusals).toHaveLength(1);
        for (const pepper of [OTHER_PEPPER, TEST_PEPPER]) expect(result.stdout + result.stderr).not.toContain(pepper);
      } finally {
        dataDir.remove();
      }
    },
    CLI_TEST_TIMEOUT,
  );

  describe('on a database no registry recorded a fingerprint in', () => {
    let db: ScratchDatabase;
    beforeAll(async () => {
      db = await createScratchDatabase('cli', { migrate: false });
      await runMigrations(db.url);
    }, CLI_TEST_TIMEOUT);
    afterAll(() => db?.drop(), CLI_TEST_TIMEOUT);

    it(
      'lets a guard start with any pepper: no row yet, or no table (an older registry)',
      async () => {
        await (await startGuardApp(db.url, OTHER_PEPPER, { listen: false })).app.close();
        await revertLastMigration(db.url); // the fingerprint table
        await (await startGuardApp(db.url, OTHER_PEPPER, { listen: false })).app.close();
        await runMigrations(db.url);
      },
      CLI_TEST_TIMEOUT,
    );
  });
});
