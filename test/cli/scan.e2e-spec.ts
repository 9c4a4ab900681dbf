import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { PG_POOL } from '../../src/database/index.js';
import { generateToken } from '../../src/token/index.js';
import { whoami } from '../guard/guard-helpers.js';
import { expectErrorShape } from '../support/http.js';
import { issueUsableKey } from '../support/keys.js';
import { until } from '../support/poll.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { cli, CLI_TEST_TIMEOUT, lines, tempDataDir } from './cli-helpers.js';

const badChecksum = (token: string): string => token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');

describe('keyledger scan', () => {
  const dir = tempDataDir();
  afterAll(() => dir.remove());

  it(
    'reports file, line and publicId of each key in a fixture, never the secret, and exits 1',
    async () => {
      const live = generateToken('kl_live');
      const test = generateToken('kl_test');
      const custom = generateToken('acme_prod');
      const fixture = join(dir.path, 'fixture.env');
      writeFileSync(
        fixture,
        [
          '# keys found in a repository',
          `LIVE_KEY=${live.token}`,
          `lookalike=${badChecksum(live.token)}`,
          'docs_example=kl_live_a1B2c3D4e5F6_0123456789abcdefghijABCDEFGHIJklmnop',
          `headers = { authorization: "Bearer ${test.token}" } // and ${custom.token}`,
          '',
        ].join('\n'),
      );
      const clean = join(dir.path, 'clean.txt');
      writeFileSync(clean, `nothing here but ${badChecksum(test.token)}\n`);

      const res = await cli(['scan', fixture, clean]);

      expect(res.code).toBe(1);
      expect(lines(res.stdout)).toEqual([
        `${fixture}:2:10  kl_live  ${live.publicId}`,
        `${fixture}:5:36  kl_test  ${test.publicId}`,
        `${fixture}:5:${36 + test.token.length + 11}  acme_prod  ${custom.publicId}`,
      ]);
      expect(res.stderr).toMatch(/found 3 keyledger key\(s\)/);
      for (const { token } of [live, test, custom]) expect(res.stdout + res.stderr).not.toContain(token.slice(-34));
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'exits 0 when it finds no key, including look-alikes with a bad checksum',
    async () => {
      const file = join(dir.path, 'lookalikes.txt');
      writeFileSync(file, Array.from({ length: 20 }, () => badChecksum(generateToken().token)).join('\n'));
      const res = await cli(['scan', file]);
      expect(res.code).toBe(0);
      expect(res.stdout).toBe('');
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'reads standard input with -, and answers --json',
    async () => {
      const key = generateToken();
      const res = await cli(['scan', '-', '--json'], undefined, undefined, `diff --git a/.env b/.env\n+TOKEN=${key.token}\n`);
      expect(res.code).toBe(1);
      expect(JSON.parse(res.stdout)).toEqual([{ file: '-', line: 2, column: 8, prefix: 'kl_live', publicId: key.publicId }]);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'exits 2 naming a file it cannot read, after reporting the others',
    async () => {
      const key = generateToken();
      const file = join(dir.path, 'one.txt');
      writeFileSync(file, key.token);
      const res = await cli(['scan', join(dir.path, 'missing.txt'), file]);
      expect(res.code).toBe(2);
      expect(res.stdout).toContain(key.publicId);
      expect(res.stderr).toMatch(/cannot read .*missing\.txt \(ENOENT\)/);
    },
    CLI_TEST_TIMEOUT,
  );
});

describe('keyledger keys report-leak', () => {
  let sut: TestApp;
  let pool: Pool;
  beforeAll(async () => {
    sut = await createTestApp();
    pool = sut.app.get<Pool>(PG_POOL);
  });
  afterAll(async () => {
    await sut?.close();
  });

  it(
    'revokes the key read from standard input (reason code leaked, the CLI as actor), and the server refuses it',
    async () => {
      const key = await issueUsableKey(sut);

      const res = await cli(
        ['keys', 'report-leak', '-', '--source-url', 'https://pastebin.example.com/abc'],
        undefined,
        undefined,
        `${key.token}\n`,
      );

      expect(res.code).toBe(0);
      expect(res.stdout).toContain(`true_positive: key ${key.publicId} (${key.id}) is revoked now`);
      expect(res.stdout + res.stderr).not.toContain(key.token);
      // The CLI's revocation reaches the server by NOTIFY: within milliseconds (docs/guard.md).
      expectErrorShape(
        await until(
          'the server to refuse the reported key',
          () => whoami(sut, key.token),
          (r) => r.status !== 200,
          { timeoutMs: 1000 },
        ),
        401,
        'AUTH.REVOKED',
      );
      const { rows } = await pool.query<{ payload: Record<string, unknown>; metadata: { actor: { type: string } } }>(
        "SELECT payload, metadata FROM events WHERE stream_id = $1 AND type = 'key.revoked'",
        [`key-${key.id}`],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0].payload).toMatchObject({ reasonCode: 'leaked', sourceUrl: 'https://pastebin.example.com/abc' });
      expect(rows[0].metadata.actor.type).toBe('cli');

      const again = await cli(['keys', 'report-leak', '-'], undefined, undefined, key.token);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('nothing to revoke');
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'exits 1 for a token that is no key of this registry, revoking nothing',
    async () => {
      const unknown = generateToken().token;
      const res = await cli(['keys', 'report-leak', unknown]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/false_positive: not a key of this registry/);
      expect(res.stderr).not.toContain(unknown);
    },
    CLI_TEST_TIMEOUT,
  );
});
