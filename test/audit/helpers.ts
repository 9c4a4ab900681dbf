import { withTransaction } from '@keyledger/nestjs/internal';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import request from 'supertest';
import { ProjectionsService } from '../../src/event-store/index.js';
import { issueUsableKey } from '../support/keys.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { bearer } from '../support/http.js';
import { until } from '../support/poll.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/test-database.js';

/**
 * Per test and per setup hook. Each test here takes well under a second on an idle machine; the
 * margin is for a loaded CI box running every file in parallel against one PostgreSQL.
 */
export const TIMEOUT = 20_000;
export const SETUP_TIMEOUT = 60_000;

/** The API's entry shape, from the module's public surface (not a copy that could drift). */
export type { AuditEntry } from '../../src/audit/index.js';
import type { AuditEntry } from '../../src/audit/index.js';

/**
 * Waits until the async audit projection holds a row for every event of these keys' streams.
 * catchUp() applies what the projection can read now; an unrelated test file's open transaction
 * can hold the read horizon (pg_snapshot_xmin) back for a moment, so this polls on a condition
 * (never a fixed sleep) until the rows are really there.
 */
export async function auditSettled(sut: TestApp, pool: Pool, keyIds: readonly string[], timeoutMs = 15_000): Promise<void> {
  const projections = sut.app.get(ProjectionsService);
  await until(
    `the audit log to hold every event of ${keyIds.length} key(s) (events missing)`,
    async () => {
      await projections.catchUp();
      const { rows } = await pool.query<{ missing: number }>(
        `SELECT count(*)::int AS missing FROM events e
         WHERE e.stream_id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.position = e.global_position)`,
        [keyIds.map((id) => `key-${id}`)],
      );
      return rows[0].missing;
    },
    (missing) => missing === 0,
    { timeoutMs, intervalMs: 25 },
  );
}

/** Every page of GET /admin/audit for `query`, following nextCursor. */
export async function walkAudit(sut: TestApp, token: string, query: Record<string, string | number>, limit = 1000): Promise<AuditEntry[]> {
  const items: AuditEntry[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const res = await request(sut.url)
      .get('/admin/audit')
      .query({ ...query, limit, ...(cursor ? { cursor } : {}) })
      .set(bearer(token))
      .expect(200);
    items.push(...(res.body.items as AuditEntry[]));
    cursor = res.body.nextCursor ?? undefined;
    if (cursor === undefined) return items;
  }
  throw new Error('too many pages');
}

/** RFC 4180: quoted fields may hold commas, CR/LF and doubled quotes; records end with CRLF. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      if (field !== '') throw new Error(`a quote inside an unquoted field at ${i}`);
      quoted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      throw new Error(`a bare line break outside quotes at ${i}`);
    } else {
      field += c;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || record.length > 0) throw new Error('the last record does not end with CRLF');
  return records;
}

/** GET with fetch, keeping the body as text whatever its Content-Type (exports are NDJSON or CSV). */
export async function download(
  sut: TestApp,
  token: string,
  query: Record<string, string | number>,
  path = '/admin/audit/export',
): Promise<{ status: number; contentType: string | null; disposition: string | null; text: string }> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
  const res = await fetch(`${sut.url}${path}?${qs.toString()}`, { headers: bearer(token) });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    disposition: res.headers.get('content-disposition'),
    text: await res.text(),
  };
}

/** Runs statements in one transaction with a trigger of `table` switched off, as the superuser (or the table's owner, an attacker) can. */
export async function withTriggerOff(pool: Pool, table: string, trigger: string, statements: [string, unknown[]?][]): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
    for (const [sql, params] of statements) await client.query(sql, params);
    await client.query(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
  });
}

/** Until the audit projection has a row for every event: for a database of a file's own, where nothing else writes (catchUp, then check). */
export async function auditCaughtUp(sut: TestApp, pool: Pool): Promise<void> {
  const count = async (table: 'events' | 'audit_log'): Promise<number> =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
  await until(
    'the audit projection to catch up ([audit_log rows, events])',
    async () => {
      await sut.app.get(ProjectionsService).catchUp();
      return [await count('audit_log'), await count('events')];
    },
    ([audit, events]) => audit === events,
    { timeoutMs: 10_000, intervalMs: 10 },
  );
}

const VERIFIER = join(import.meta.dirname, '..', '..', 'docs', 'audit-verifier.mjs');

/** Runs docs/audit-verifier.mjs as a user would, as a process of its own: its exit status and output. */
export function runVerifier(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string[]; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFIER, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout: stdout.trim().split('\n'), stderr });
    });
  });
}

export interface IsolatedApp {
  db: ScratchDatabase;
  /** A pool on that database, as the superuser. */
  pool: Pool;
  sut: TestApp;
  admin: { id: string; publicId: string; token: string };
  close(): Promise<void>;
}

/** An app on a migrated database of its own (no expiry sweeper), with a usable admin key: for tests that tamper with tables. */
export async function openIsolatedApp(): Promise<IsolatedApp> {
  const db = await createScratchDatabase('audit');
  const pool = new Pool({ connectionString: db.url, max: 4 });
  // pool.end() can resolve while a connection is still closing; DROP … WITH (FORCE) then ends it with an error.
  pool.on('error', () => undefined);
  const sut = await createTestApp({ EXPIRY_SWEEP_ENABLED: 'false' }, db.url);
  const admin = await issueUsableKey(sut, { scopes: ['admin'] });
  return {
    db,
    pool,
    sut,
    admin,
    close: async () => {
      await sut.close();
      await pool.end();
      await db.drop();
    },
  };
}
