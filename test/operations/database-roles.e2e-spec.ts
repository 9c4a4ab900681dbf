import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { runMigrations } from '../../src/database/index.js';
import { ProjectionsService } from '../../src/event-store/index.js';
import { startAppProcess, type AppProcess } from '../support/app-process.js';
import { createTestApp } from '../support/test-app.js';
import { testDatabaseUrl } from '../support/test-database.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { bearer } from '../support/http.js';

/** The sql blocks of docs/operations.md's "Database roles and privileges", in order. */
function documentedRoleSql(): string[] {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Database roles and privileges'));
  const end = section.indexOf('\n## ', 3);
  return [...section.slice(0, end).matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
}

async function run(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // One statement at a time, as psql sends them (CREATE DATABASE refuses a transaction block).
    for (const statement of sql
      .split(/;\s*\n/)
      .map((s) => s.trim())
      .filter(Boolean)) {
      await client.query(statement);
    }
  } finally {
    await client.end();
  }
}

/**
 * docs/operations.md, "Database roles and privileges": the documented SQL as written (other role
 * and database names), migrations as the owner, the real server process as the app role.
 */
describe('the server running as a role that does not own the tables', () => {
  const id = randomBytes(4).toString('hex');
  const owner = `kl_owner_${id}`;
  const appRole = `kl_app_${id}`;
  const database = `keyledger_test_roles_${id}`;
  const password = randomBytes(18).toString('base64url');
  const urlAs = (role: string | null, db: string): string => {
    const url = new URL(testDatabaseUrl());
    if (role) {
      url.username = role;
      url.password = password;
    }
    url.pathname = `/${db}`;
    return url.toString();
  };
  const named = (sql: string): string =>
    sql
      .replace(/\bkeyledger_owner\b/g, owner)
      .replace(/\bkeyledger_app\b/g, appRole)
      .replace(/\bDATABASE keyledger\b/g, `DATABASE ${database}`)
      .replace(/PASSWORD '[^']*'/g, `PASSWORD '${password}'`);
  const dataDir = makeTestTempDir();
  let server: AppProcess | undefined;

  afterAll(async () => {
    if (server && server.exitCode() === undefined) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
    await run(
      testDatabaseUrl(),
      `DROP DATABASE IF EXISTS ${database} WITH (FORCE);\nDROP ROLE IF EXISTS ${appRole};\nDROP ROLE IF EXISTS ${owner};\n`,
    );
  });

  it('serves every command, projection and audit read, and the owner rebuilds beside it', async () => {
    const blocks = documentedRoleSql().map(named);
    expect(blocks).toHaveLength(3);
    const [cluster, schema, grants] = blocks;
    await run(testDatabaseUrl(), cluster);
    await run(urlAs(null, database), schema);
    await runMigrations(urlAs(owner, database));
    await run(urlAs(owner, database), grants);

    const appUrl = urlAs(appRole, database);
    // Migrations are the owner's: with RUN_MIGRATIONS=true the app role cannot start, even with none pending.
    await expect(startAppProcess({ DATABASE_URL: appUrl, RUN_MIGRATIONS: 'true' })).rejects.toThrow(/failed to start: permission denied/);
    server = await startAppProcess({
      DATABASE_URL: appUrl,
      DATA_DIR: dataDir,
      BOOTSTRAP_ADMIN: 'true',
      EXPIRY_SWEEP_ENABLED: 'true',
      EXPIRY_SWEEP_DELAY_MS: '300',
      PROJECTION_POLL_MS: '100',
    });
    const base = server.url;
    const admin = readFileSync(join(dataDir, 'bootstrap-admin.key'), 'utf8').trim();
    const call = (method: string, path: string, body?: unknown, token = admin) =>
      fetch(`${base}${path}`, {
        method,
        headers: { ...bearer(token), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = async (body: unknown): Promise<{ id: string; key: string }> => {
      const res = await call('POST', '/admin/api-keys', body);
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; key: string };
    };

    // Commands: every event type, as the app role.
    const key = await created({ tenantId: 'acme', name: 'reports', scopes: ['reports:read'] });
    const expiring = await created({ tenantId: 'acme', name: 'short', expiresAt: new Date(Date.now() + 1_500).toISOString() });
    const reader = await created({ tenantId: 'acme', name: 'auditor', scopes: ['audit:read'] });
    expect((await call('POST', `/admin/api-keys/${key.id}/rotate`, {})).status).toBe(200);
    expect((await call('PATCH', `/admin/api-keys/${key.id}`, { name: 'renamed' })).status).toBe(200);
    expect((await call('POST', `/admin/api-keys/${key.id}/revoke`, { reason: 'done' })).status).toBe(200);
    // A refusal (an access_audit row) and a failed verification (a verify_failures row).
    expect((await call('POST', '/admin/api-keys', { tenantId: 'acme', name: 'x' }, reader.key)).status).toBe(403);
    const verified = await call('POST', '/v1/keys/verify', { key: 'kl_live_AAAAAAAAAAAA_notakey' });
    expect(verified.status).toBeLessThan(500);

    // The sweeper records the expiry at most EXPIRY_SWEEP_DELAY_MS after the deadline (bounded wait).
    const expiryDeadline = Date.now() + 1_500 + 300 + 2_000;
    let status = 'active';
    while (status !== 'expired' && Date.now() < expiryDeadline) {
      status = ((await (await call('GET', `/admin/api-keys/${expiring.id}`)).json()) as { status: string }).status;
      if (status !== 'expired') await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe('expired');

    // The audit projection (async, polled every 100 ms here) writes as the app role.
    const auditCount = async (): Promise<number> =>
      ((await (await call('GET', '/admin/audit?limit=1000')).json()) as { items: unknown[] }).items.length;
    const events = 8; // bootstrap admin, 3 creates, rotate, update, revoke, expiry
    const auditDeadline = Date.now() + 5_000;
    while ((await auditCount()) < events && Date.now() < auditDeadline) await new Promise((r) => setTimeout(r, 100));
    expect(await auditCount()).toBe(events);
    expect(await (await call('GET', '/admin/audit/verify')).json()).toMatchObject({ ok: true, checkedEvents: events });
    const csv = await call('GET', '/admin/audit/export?format=csv');
    expect(csv.status).toBe(200);
    expect((await csv.text()).trim().split('\r\n')).toHaveLength(events + 1);
    const refusals = (await (await call('GET', '/admin/audit/access?outcome=refused')).json()) as { items: { status: number }[] };
    expect(refusals.items.map((r) => r.status)).toEqual([403]);
    const health = (await (await fetch(`${base}/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');

    // The owner rebuilds the audit log (a new table swapped in) while the server runs on.
    const rebuilder = await createTestApp({ ASYNC_PROJECTIONS_ENABLED: 'false' }, urlAs(owner, database));
    try {
      await rebuilder.app.get(ProjectionsService).rebuild('audit-log');
    } finally {
      await rebuilder.close();
    }
    await created({ tenantId: 'acme', name: 'after the rebuild' });
    const afterDeadline = Date.now() + 5_000;
    while ((await auditCount()) < events + 1 && Date.now() < afterDeadline) await new Promise((r) => setTimeout(r, 100));
    expect(await (await call('GET', '/admin/audit/verify')).json()).toMatchObject({ ok: true, checkedEvents: events + 1 });
    expect(server.output()).not.toMatch(/permission denied|42501|must be owner/i);

    // What the app role cannot do: rewrite history, switch the triggers off, swap or create tables.
    const asApp = new pg.Client({ connectionString: appUrl });
    await asApp.connect();
    try {
      for (const sql of [
        'UPDATE events SET type = type',
        'DELETE FROM audit_log',
        'TRUNCATE access_audit',
        'ALTER TABLE events DISABLE TRIGGER events_append_only',
        'ALTER TABLE audit_log RENAME TO audit_log_old',
        'DROP TABLE audit_log',
        'CREATE TABLE scratch (i int)',
      ]) {
        await expect(asApp.query(sql)).rejects.toMatchObject({ code: '42501' });
      }
    } finally {
      await asApp.end();
    }
  }, 120_000);
});
