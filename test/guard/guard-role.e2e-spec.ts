import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import request from 'supertest';
import { KeyVerifier } from '@keyledger/nestjs';
import { generateToken } from '../../src/token/index.js';
import { CLI_TEST_TIMEOUT, cli, cliJson, cliOk } from '../cli/cli-helpers.js';
import { createTestApp, issueKey, TEST_PEPPER, type TestApp } from '../support/test-app.js';
import { asSuperuser, dropRole, uniqueRole, urlAs } from '../support/guard-role.js';
import { revokeOver, startGuardApp } from './guard-helpers.js';
import { bearer, expectErrorShape } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';
import { until } from '../support/poll.js';

const roleExists = (role: string): Promise<boolean> =>
  asSuperuser(async (c) => (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 1);

describe('keyledger guard-role create: a service role that reads keys and nothing else', () => {
  const role = uniqueRole();
  let password: string;
  let registry: TestApp;
  let admin: string;
  let asRole: pg.Client;

  beforeAll(async () => {
    registry = await createTestApp();
    admin = (await issueKey(registry.app, { scopes: ['admin'] })).token;
    const created = await cliJson<{ role: string; password: string; database: string; tables: string[] }>(['guard-role', 'create', role]);
    password = created.password;
    asRole = new pg.Client({ connectionString: urlAs(role, password) });
    await asRole.connect();
  }, CLI_TEST_TIMEOUT);
  afterAll(async () => {
    await asRole?.end();
    await registry?.close();
    await dropRole(role);
  }, CLI_TEST_TIMEOUT);

  it(
    'prints the password once on stdout, alone on its first line, and names what the role may read',
    async () => {
      const other = uniqueRole();
      try {
        const { stdout, stderr } = await cliOk(['guard-role', 'create', other]);
        const [first, ...rest] = stdout.split('\n');
        expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(rest.join('\n')).toMatch(
          new RegExp(
            `^role +${other}\\n.*\\nmay read +api_keys, key_pepper_fingerprint\\nmay write +key_last_use, key_usage_daily\\n$`,
            's',
          ),
        );
        expect(stderr).toBe(
          `Note: this is the only time the password of "${other}" is shown; give it to the service as part of its database URL.\n`,
        );
        // PostgreSQL keeps a SCRAM verifier, not the password.
        const stored = await asSuperuser(
          async (c) => (await c.query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [other])).rows[0].p,
        );
        expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
        expect(stored).not.toContain(first);
      } finally {
        await dropRole(other);
      }
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'runs the guard: loads keys, verifies, hears a revoke, looks up a key it does not know',
    async () => {
      const tenantId = uniqueTenant();
      const loaded = await issueKey(registry.app, { tenantId });
      let guard: { app: INestApplication; url: string } | undefined;
      try {
        guard = await startGuardApp(urlAs(role, password), TEST_PEPPER);
        const { url } = guard;
        await request(url).get('/me').set(bearer(loaded.token)).expect(200);
        // Issued after the guard loaded: found by its lookup at the first request.
        const later = await issueKey(registry.app, { tenantId });
        expect((await request(url).get('/me').set(bearer(later.token)).expect(200)).body).toMatchObject({ keyId: later.id, tenantId });
        // A well-formed key nobody issued: looked up, not found.
        const lookups = guard.app.get(KeyVerifier).status().lookups;
        expectErrorShape(await request(url).get('/me').set(bearer(generateToken().token)), 401, 'AUTH.NOT_FOUND');
        expect(guard.app.get(KeyVerifier).status().lookups).toBe(lookups + 1);
        // A revoke through the registry reaches the guard by NOTIFY (asynchronous: bounded wait).
        await revokeOver(registry, admin, loaded.id);
        const refused = await until(
          'the guard to refuse the revoked key',
          () => request(url).get('/me').set(bearer(loaded.token)),
          (r) => r.status !== 200,
        );
        expectErrorShape(refused, 401, 'AUTH.REVOKED');
        expect(guard.app.get(KeyVerifier).status().listening).toBe(true);
        // It records usage, and may write it: the flush the timer would make, made now.
        await guard.app.get(KeyVerifier).usage!.flush();
        const used = await asSuperuser((c) =>
          c.query<{ key_id: string }>('SELECT key_id FROM key_last_use WHERE key_id = ANY($1::uuid[]) ORDER BY key_id', [
            [loaded.id, later.id],
          ]),
        );
        expect(used.rows.map((r) => r.key_id)).toEqual([loaded.id, later.id].sort());
      } finally {
        await guard?.app.close();
      }
    },
    CLI_TEST_TIMEOUT,
  );

  it('may read the key read model and LISTEN', async () => {
    await expect(asRole.query('SELECT count(*) FROM api_keys')).resolves.toMatchObject({ rowCount: 1 });
    await expect(asRole.query('SELECT fingerprint FROM key_pepper_fingerprint')).resolves.toMatchObject({ rowCount: 1 });
    await expect(asRole.query('LISTEN keyledger_events')).resolves.toBeDefined();
  });

  it.each(['events', 'audit_log', 'access_audit', 'unreadable_events', 'verify_failures'])('cannot read %s', async (table) => {
    await expect(asRole.query(`SELECT 1 FROM ${table} LIMIT 1`)).rejects.toMatchObject({
      code: '42501',
      message: `permission denied for table ${table}`,
    });
  });

  it.each([
    ['insert a key', "INSERT INTO api_keys (key_id) VALUES ('00000000-0000-4000-8000-000000000000')"],
    ['update keys', 'UPDATE api_keys SET version = version + 1'],
    ['delete keys', 'DELETE FROM api_keys'],
    ['truncate keys', 'TRUNCATE api_keys'],
    ['replace the pepper fingerprint', "UPDATE key_pepper_fingerprint SET fingerprint = 'none'"],
    ['delete a last use', 'DELETE FROM key_last_use'],
    ['delete usage counts', 'DELETE FROM key_usage_daily'],
    ['truncate usage', 'TRUNCATE key_usage_daily'],
    ['append an event', 'INSERT INTO events DEFAULT VALUES'],
    ['create a table in the schema', 'CREATE TABLE guard_was_here (id int)'],
  ])('cannot %s', async (_what, sql) => {
    await expect(asRole.query(sql)).rejects.toMatchObject({ code: '42501' });
  });

  it(
    'refuses to create a role that exists, in one line, exit 1',
    async () => {
      const result = await cli(['guard-role', 'create', role]);
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(result.stderr).toBe(
        `keyledger: role "${role}" already exists: choose another name, or drop it first (DROP OWNED BY ${role}; DROP ROLE ${role})\n`,
      );
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    'refuses a role name that is not a plain lower-case identifier (exit 2) and creates nothing',
    async () => {
      const result = await cli(['guard-role', 'create', 'Robert"; DROP TABLE events; --']);
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^keyledger: role name must be 1 to 63 lower-case letters/);
    },
    CLI_TEST_TIMEOUT,
  );

  it(
    '--print prints SQL a superuser can run, creating nothing itself; the role then logs in with the printed password',
    async () => {
      const other = uniqueRole();
      try {
        const { stdout } = await cliOk(['guard-role', 'create', other, '--print']);
        expect(await roleExists(other)).toBe(false);
        expect(stdout).toMatch(new RegExp(`^CREATE ROLE "${other}" LOGIN NOSUPERUSER .* PASSWORD 'SCRAM-SHA-256\\$4096:[^']+';$`, 'm'));
        expect(stdout).toMatch(
          new RegExp(`^GRANT SELECT ON TABLE "public"."api_keys", "public"."key_pepper_fingerprint" TO "${other}";$`, 'm'),
        );
        expect(stdout).toMatch(
          new RegExp(`^GRANT SELECT, INSERT, UPDATE ON TABLE "public"."key_last_use", "public"."key_usage_daily" TO "${other}";$`, 'm'),
        );
        const printedPassword = /^-- ([A-Za-z0-9_-]{43})$/m.exec(stdout)?.[1];
        expect(printedPassword).toBeDefined();

        await asSuperuser((c) => c.query(stdout));
        const client = new pg.Client({ connectionString: urlAs(other, printedPassword!) });
        await client.connect();
        try {
          await expect(client.query('SELECT count(*) FROM api_keys')).resolves.toMatchObject({ rowCount: 1 });
          await expect(client.query('SELECT 1 FROM events')).rejects.toMatchObject({ code: '42501' });
        } finally {
          await client.end();
        }
      } finally {
        await dropRole(other);
      }
    },
    CLI_TEST_TIMEOUT,
  );
});
