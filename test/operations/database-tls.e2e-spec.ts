import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { generate } from 'selfsigned';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/database/embedded-postgres.js';
import { startAppProcess, type AppProcess } from '../support/app-process.js';
import { freePort } from '../support/free-port.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { bearer } from '../support/http.js';

/**
 * docs/operations.md, "TLS to PostgreSQL": a cluster that refuses the app's role without TLS, and
 * the real server process given `sslmode=verify-full&sslrootcert=…` in DATABASE_URL. Every
 * connection it opens (migrations, pool, guard replica pool, both LISTEN clients, an audit export)
 * must then be TLS, or the server could not start or answer.
 */
describe('DATABASE_URL with sslmode', () => {
  const dir = makeTestTempDir();
  const password = randomBytes(18).toString('base64url');
  let cluster: EmbeddedPostgresHandle | undefined;
  let port = 0;
  let superuser: pg.Client | undefined;
  const servers: AppProcess[] = [];
  const url = (params: string): string =>
    `postgres://kl_tls:${password}@localhost:${port}/keyledger_tls?${params.replace('ROOT', encodeURIComponent(join(dir, 'root.crt')))}`;

  beforeAll(async () => {
    port = await freePort();
    cluster = await startEmbeddedPostgres({ dataDir: dir, port, database: 'postgres' });
    const pgdata = join(dir, 'pg');
    const { uid, gid } = statSync(join(pgdata, 'PG_VERSION'));
    const cert = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    writeFileSync(join(dir, 'root.crt'), cert.cert);
    writeFileSync(join(pgdata, 'server.crt'), cert.cert, { mode: 0o644 });
    writeFileSync(join(pgdata, 'server.key'), cert.private, { mode: 0o600 });
    chownSync(join(pgdata, 'server.key'), uid, gid); // PostgreSQL reads its key only if it owns it
    // The app's role must use TLS; the superuser (this test's own checks) may connect without.
    const hba = join(pgdata, 'pg_hba.conf');
    writeFileSync(
      hba,
      ['hostssl all kl_tls 127.0.0.1/32 scram-sha-256', 'host all kl_tls 127.0.0.1/32 reject', readFileSync(hba, 'utf8')].join('\n'),
    );
    superuser = new pg.Client({ connectionString: cluster.url });
    await superuser.connect();
    await superuser.query(`ALTER SYSTEM SET ssl = on`);
    await superuser.query(`CREATE ROLE kl_tls LOGIN PASSWORD '${password}'`);
    await superuser.query(`CREATE DATABASE keyledger_tls OWNER kl_tls`);
    await superuser.query(`SELECT pg_reload_conf()`);
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) {
      if (server.exitCode() === undefined) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    }
    await superuser?.end();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start where the server demands TLS and the URL says sslmode=disable', async () => {
    await expect(startAppProcess({ DATABASE_URL: url('sslmode=disable'), RUN_MIGRATIONS: 'true' })).rejects.toThrow(/no encryption/);
  });

  it('opens every connection with TLS, verified against sslrootcert, and serves', async () => {
    const dataDir = join(dir, `data-${Date.now()}`);
    mkdirSync(dataDir);
    const server = await startAppProcess({
      DATABASE_URL: url('sslmode=verify-full&sslrootcert=ROOT'),
      RUN_MIGRATIONS: 'true',
      BOOTSTRAP_ADMIN: 'true',
      DATA_DIR: dataDir,
    });
    servers.push(server);
    const admin = readFileSync(join(dataDir, 'bootstrap-admin.key'), 'utf8').trim();
    const call = (method: string, path: string, body?: unknown, token = admin) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { ...bearer(token), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const key = (await (await call('POST', '/admin/api-keys', { tenantId: 'acme', name: 'over tls' })).json()) as {
      id: string;
      key: string;
    };
    expect((await call('GET', '/examples/whoami', undefined, key.key)).status).toBe(200);
    expect((await call('POST', `/admin/api-keys/${key.id}/revoke`, {})).status).toBe(200);
    expect((await call('GET', '/examples/whoami', undefined, key.key)).status).toBe(401);

    // An export runs on a connection of its own (keyledger-audit-export), which must be TLS too.
    const exported = await call('GET', '/admin/audit/export?format=csv');
    expect(exported.status).toBe(200);
    expect((await exported.text()).trim().split('\r\n')).toHaveLength(4); // header, 2 creates, revoke
    const { rows } = await superuser!.query<{ application_name: string; ssl: boolean }>(
      `SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'kl_tls'`,
    );
    expect(rows.every((r) => r.ssl)).toBe(true);
    expect(new Set(rows.map((r) => r.application_name))).toEqual(new Set(['keyledger', 'keyledger-verifier', 'keyledger-listen']));
  }, 120_000);

  it('refuses a server certificate that sslrootcert does not vouch for', async () => {
    writeFileSync(join(dir, 'other.crt'), (await generate([{ name: 'commonName', value: 'someone else' }])).cert);
    const other = url('sslmode=verify-full&sslrootcert=ROOT').replace(
      encodeURIComponent(join(dir, 'root.crt')),
      encodeURIComponent(join(dir, 'other.crt')),
    );
    await expect(startAppProcess({ DATABASE_URL: other, RUN_MIGRATIONS: 'false' })).rejects.toThrow(/certificate/);
  });
});
