import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/database/embedded-postgres.js';
import { runMigrations } from '../../src/database/index.js';
import { ProjectionsService } from '../../src/event-store/index.js';
import { startAppProcess } from '../support/app-process.js';
import { freePort } from '../support/free-port.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testDatabaseUrl } from '../support/test-database.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import { bearer } from '../support/http.js';

/** The SQL of docs/operations.md's restore step, exactly as an operator copies it. */
function documentedRestoreSql(): string {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  const block = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]).find((sql) => sql.includes('keyledger_advance_xid'));
  if (!block) throw new Error('docs/operations.md has no sql block with keyledger_advance_xid');
  return block;
}

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * What `pg_dump --data-only` + `pg_restore` onto the same schema do, for a database this test
 * owns: every table's rows as they are (transaction_id included: pg_dump copies it like any column)
 * in one snapshot, then every sequence's value. The embedded-postgres package ships no pg_dump
 * (only initdb, pg_ctl, postgres), and the machine's client tools are another major version, so
 * the rows travel by COPY, which is what pg_dump itself emits. The schema comes from the same
 * migrations, as a dump of a migrated database would recreate it.
 */
async function copyDatabase(sourceUrl: string, targetUrl: string): Promise<void> {
  await runMigrations(targetUrl);
  const source = new pg.Client({ connectionString: sourceUrl });
  const target = new pg.Client({ connectionString: targetUrl });
  await source.connect();
  await target.connect();
  try {
    await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows: tables } = await source.query<{ name: string; columns: string }>(
      `SELECT c.relname AS name, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) AS columns
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'migrations'
        GROUP BY c.relname ORDER BY c.relname`,
    );
    for (const { name, columns } of tables) {
      const table = pg.escapeIdentifier(name);
      await pipeline(
        source.query(copyTo(`COPY ${table} (${columns}) TO STDOUT`)),
        target.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`)),
      );
    }
    const { rows: sequences } = await source.query<{ name: string; value: string | null }>(
      `SELECT quote_ident(sequencename) AS name, last_value::text AS value FROM pg_sequences WHERE schemaname = 'public'`,
    );
    for (const { name, value } of sequences) if (value !== null) await target.query(`SELECT setval($1, $2::bigint)`, [name, value]);
    await source.query('COMMIT');
  } finally {
    await source.end();
    await target.end();
  }
}

function runVerifier(databaseUrl: string, digest: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['docs/audit-verifier.mjs', digest], { env: { ...process.env, DATABASE_URL: databaseUrl } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => void (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => void (out += c.toString('utf8')));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

interface Digest {
  events: number;
  digest: string;
}

/**
 * docs/operations.md, "Restoring from a logical dump": a database copied into a new cluster (whose
 * transaction counter is far behind the ids stored in events), the documented SQL run as written,
 * then keyledger started on it: the chain verifies against a digest taken before the dump and new
 * commands land after the restored history, in the audit log and in every guard replica.
 */
describe('restoring a logical dump into a new cluster', () => {
  const sourceName = `keyledger_test_dump_${randomBytes(4).toString('hex')}`;
  const sourceUrl = new URL(testDatabaseUrl());
  sourceUrl.pathname = `/${sourceName}`;
  const clusterDir = makeTestTempDir();
  let cluster: EmbeddedPostgresHandle | undefined;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    await withClient(testDatabaseUrl(), (c) => c.query(`CREATE DATABASE ${sourceName}`));
    await runMigrations(sourceUrl.toString());
    // The old cluster has lived longer than the new one: its ids are well ahead of a fresh initdb's.
    await withClient(sourceUrl.toString(), (c) =>
      c.query(`CALL keyledger_advance_xid((pg_current_xact_id()::text::bigint + 3000)::text::xid8)`),
    );
    cluster = await startEmbeddedPostgres({ dataDir: clusterDir, port: await freePort(), database: 'keyledger_restored_test' });
  }, 120_000);

  afterAll(async () => {
    for (const app of apps) await app.close();
    await cluster?.stop();
    rmSync(clusterDir, { recursive: true, force: true });
    await withClient(testDatabaseUrl(), (c) => c.query(`DROP DATABASE IF EXISTS ${sourceName} WITH (FORCE)`));
  });

  it('verifies against the digest taken before the dump, and takes new commands after it in order', async () => {
    // Before: some history, then the operator's digest.
    const before = await createTestApp({}, sourceUrl.toString());
    apps.push(before);
    const admin = await issueKey(before.app, { tenantId: 'platform', scopes: ['admin'] });
    const auth = { ...bearer(admin.token), 'content-type': 'application/json' };
    const post = (app: TestApp, path: string, body: unknown) =>
      fetch(`${app.url}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    const kept = (await (await post(before, '/admin/api-keys', { tenantId: 'acme', name: 'kept' })).json()) as { id: string; key: string };
    const revoked = (await (await post(before, '/admin/api-keys', { tenantId: 'acme', name: 'revoked' })).json()) as {
      id: string;
      key: string;
    };
    const rotated = (await (await post(before, `/admin/api-keys/${kept.id}/rotate`, {})).json()) as { key: string };
    expect((await post(before, `/admin/api-keys/${revoked.id}/revoke`, { reason: 'before the dump' })).status).toBe(200);
    await before.app.get(ProjectionsService).catchUp();
    const digest = (await (await fetch(`${before.url}/admin/audit/digest`, { headers: auth })).json()) as Digest;
    expect(digest.events).toBe(5);
    await before.close();
    apps.pop();

    // The dump, restored into a new cluster whose counter is behind every stored id.
    const restoredUrl = cluster!.url;
    await copyDatabase(sourceUrl.toString(), restoredUrl);
    const ids = await withClient(
      restoredUrl,
      async (c) =>
        (
          await c.query<{ stored: string; current: string }>(
            `SELECT max(transaction_id)::text AS stored, pg_current_xact_id()::text AS current FROM events`,
          )
        ).rows[0],
    );
    expect(BigInt(ids.stored)).toBeGreaterThan(BigInt(ids.current));

    // Started as is, keyledger refuses and names the documented fix.
    await expect(startAppProcess({ DATABASE_URL: restoredUrl })).rejects.toThrow(/keyledger_advance_xid/);

    // The documented step, exactly as written; no rebuild.
    await withClient(restoredUrl, (c) => c.query(documentedRestoreSql()));

    const sut = await createTestApp({}, restoredUrl);
    apps.push(sut);
    // A second instance's guard; the audit projection runs on sut alone, so catchUp() there is complete.
    const other = await createTestApp({ ASYNC_PROJECTIONS_ENABLED: 'false' }, restoredUrl);
    apps.push(other);
    const get = (app: TestApp, path: string, token = admin.token) => fetch(`${app.url}${path}`, { headers: bearer(token) });

    const verified = (await (await get(sut, `/admin/audit/verify?fromDigest=${digest.digest}`)).json()) as {
      ok: boolean;
      checkedEvents: number;
      digest: { matches: boolean };
    };
    expect(verified).toMatchObject({ ok: true, checkedEvents: 5, digest: { matches: true } });
    const outside = await runVerifier(restoredUrl, digest.digest);
    expect(outside.code).toBe(0);
    expect(outside.out).toMatch(/matches/);

    // The restored keys are as they were.
    expect((await get(sut, '/examples/whoami', rotated.key)).status).toBe(200);
    expect((await get(other, '/examples/whoami', rotated.key)).status).toBe(200);
    expect((await get(sut, '/examples/whoami', revoked.key)).status).toBe(401);

    // New commands: issued and usable on both instances, then revoked and refused on both.
    const fresh = (await (await post(sut, '/admin/api-keys', { tenantId: 'acme', name: 'after the restore' })).json()) as {
      id: string;
      key: string;
    };
    expect((await get(sut, '/examples/whoami', fresh.key)).status).toBe(200);
    expect((await get(other, '/examples/whoami', fresh.key)).status).toBe(200);
    expect((await post(sut, `/admin/api-keys/${fresh.id}/revoke`, { reason: 'after the restore' })).status).toBe(200);
    expect((await get(sut, '/examples/whoami', fresh.key)).status).toBe(401);
    // The other instance learns of the revocation by NOTIFY: within milliseconds (docs/guard.md).
    const deadline = Date.now() + 1_000;
    let status = 200;
    while (status !== 401 && Date.now() < deadline) status = (await get(other, '/examples/whoami', fresh.key)).status;
    expect(status).toBe(401);

    // The audit log chains the new events after the restored ones, in order, and still verifies.
    await sut.app.get(ProjectionsService).catchUp();
    const log = (await (await get(sut, `/admin/audit?keyId=${fresh.id}`)).json()) as { items: { seq: number; type: string }[] };
    expect(log.items.map((i) => [i.seq, i.type])).toEqual([
      [7, 'key.revoked'],
      [6, 'key.created'],
    ]);
    const after = (await (await get(sut, `/admin/audit/verify?fromDigest=${digest.digest}`)).json()) as {
      ok: boolean;
      checkedEvents: number;
    };
    expect(after).toMatchObject({ ok: true, checkedEvents: 7 });
    // The new events were written by transactions after every restored one.
    const order = await withClient(
      restoredUrl,
      async (c) =>
        (
          await c.query<{ newer: boolean }>(`SELECT bool_and(transaction_id > $1::xid8) AS newer FROM events WHERE stream_id = $2`, [
            ids.stored,
            `key-${fresh.id}`,
          ])
        ).rows[0].newer,
    );
    expect(order).toBe(true);
  }, 180_000);
});
