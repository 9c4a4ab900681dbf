import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { download, parseCsv } from '../audit/helpers.js';
import { issueUsableKey, uniqueTenant, type IssuedKey } from '../support/keys.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { CLI_TEST_TIMEOUT, cli, cliJson, cliOk, type KeyJson } from './cli-helpers.js';

/** `keyledger keys report`: the same lines as GET /admin/reports/keys, to stdout or a file (with progress on stderr). */
describe('keyledger keys report', () => {
  const tenant = uniqueTenant('cli-report');
  let sut: TestApp;
  let admin: IssuedKey;
  let keys: KeyJson[];
  let dir: string;

  beforeAll(async () => {
    dir = makeTestTempDir();
    [sut, ...keys] = await Promise.all([
      createTestApp(),
      cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'kept, "quoted"']),
      cliJson<KeyJson>(['keys', 'create', '--tenant', tenant, '--name', 'leaked one']),
    ]);
    admin = await issueUsableKey(sut, { tenantId: uniqueTenant('cli-report-admin'), scopes: ['admin'] });
    await cliOk(['keys', 'revoke', keys[1].id, '--reason-code', 'leaked', '--reason', '=found in a gist']);
  }, CLI_TEST_TIMEOUT);

  afterAll(async () => {
    await sut?.close();
    await rm(dir, { recursive: true, force: true });
  }, CLI_TEST_TIMEOUT);

  it(
    'writes the API report as NDJSON to stdout, and CSV to a new file with progress on stderr',
    async () => {
      const file = join(dir, 'keys.csv');
      const [stdout, toFile, api, apiCsv] = await Promise.all([
        cliOk(['keys', 'report', '--tenant', tenant]),
        cliOk(['keys', 'report', '--tenant', tenant, '--format', 'csv', '-o', file]),
        download(sut, admin.token, { tenantId: tenant }, '/admin/reports/keys'),
        download(sut, admin.token, { tenantId: tenant, format: 'csv' }, '/admin/reports/keys'),
      ]);
      const parsed = stdout.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { keyId: string; reasonCode: string | null; createdBy: { type: string } });
      expect(parsed).toEqual(
        api.text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown),
      );
      expect(parsed.map((l) => [l.keyId, l.reasonCode, l.createdBy.type])).toEqual(
        [...keys]
          .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
          .map((k) => [k.id, k.id === keys[1].id ? 'leaked' : null, 'cli']),
      );
      expect(parseCsv(await readFile(file, 'utf8'))).toEqual(parseCsv(apiCsv.text));
      expect(toFile.stderr).toMatch(/keys report: 2\/2 keys \(100%\)/);
      expect(toFile.stderr).toContain(`2 key(s) written to ${file}`);
      expect(stdout.stderr).not.toContain('keys report:'); // not a terminal, no -o: stderr stays quiet
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    '--as-of, --status and the day filters narrow it; bad flags are usage errors; -o never overwrites',
    async () => {
      const existing = join(dir, 'existing.ndjson');
      await writeFile(existing, 'keep me\n');
      const [before, revoked, old, badDays, badStatus, overwrite] = await Promise.all([
        cliOk(['keys', 'report', '--tenant', tenant, '--as-of', '2020-01-01T00:00:00Z']),
        cliOk(['keys', 'report', '--tenant', tenant, '--status', 'revoked']),
        cliOk(['keys', 'report', '--tenant', tenant, '--secret-older-than', '1d']),
        cli(['keys', 'report', '--unused-for', 'ten']),
        cli(['keys', 'report', '--status', 'all']),
        cli(['keys', 'report', '--tenant', tenant, '-o', existing]),
      ]);
      expect(before.stdout).toBe('');
      expect(
        revoked.stdout
          .trimEnd()
          .split('\n')
          .map((l) => (JSON.parse(l) as { keyId: string }).keyId),
      ).toEqual([keys[1].id]);
      expect(old.stdout).toBe('');
      expect([badDays.code, badDays.stderr]).toEqual([2, expect.stringContaining('--unused-for must be a whole number of days')]);
      expect([badStatus.code, badStatus.stderr]).toEqual([2, expect.stringContaining('--status must be one of active, expired, revoked')]);
      expect([overwrite.code, overwrite.stderr]).toEqual([1, expect.stringContaining('already exists: give a new file name')]);
      expect(await readFile(existing, 'utf8')).toBe('keep me\n');
    },
    CLI_TEST_TIMEOUT,
  );
});
