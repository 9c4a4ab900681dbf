import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { QueryRunner } from 'typeorm';
import { AuditActors1764000000014 } from '../../migrations/1764000000014-audit-actors.js';
import request from 'supertest';
import { AuditExporter } from '../../src/audit/index.js';
import { ProjectionsService } from '../../src/event-store/index.js';
import { keyStreamId, withTransaction } from '@keyledger/nestjs/internal';
import { SYSTEM_ACTOR } from '../../src/keys/index.js';
import type { TestApp } from '../support/test-app.js';
import { makeTestTempDir } from '../support/temp-dir.js';
import {
  auditCaughtUp,
  download,
  openIsolatedApp,
  runVerifier,
  withTriggerOff,
  SETUP_TIMEOUT,
  TIMEOUT,
  type IsolatedApp,
} from './helpers.js';
import { bearer } from '../support/http.js';
import { issueUsableKey, uniqueTenant } from '../support/keys.js';

interface Verified {
  ok: boolean;
  checkedEvents: number;
  headPosition: number;
  firstMismatch?: { position: number; reason: string };
  digest?: { position: number; chainHash: string; matches: boolean };
}

/**
 * Issue 14, item 4 — audit rows that cannot lie: audit_log refuses changes like events does; an
 * edited audit row (a column the chain does not hash: actor, reason, IP, …) is reported by verify
 * at its position; a rebuild swaps in a new table; and an export of the hashed events is checked
 * against a digest with no database at all. Editing rows needs the superuser to switch the
 * append-only triggers off: everything here runs in a database of its own, and every test that
 * edits puts the honest rows back with a rebuild.
 */
describe('audit rows that cannot lie', () => {
  let isolated: IsolatedApp | undefined;
  let sut: TestApp;
  let pool: Pool;
  let admin: { id: string; token: string };
  let intact: string;
  let chain: { position: number; type: string; streamId: string }[] = [];
  const keys: Record<string, string> = {};
  const A = uniqueTenant();
  let edited = false;

  const get = (path: string, query: Record<string, string> = {}) => request(sut.url).get(path).query(query).set(bearer(admin.token));
  const act = (method: 'post' | 'patch', path: string, body: Record<string, unknown> = {}) =>
    request(sut.url)[method](path).set(bearer(admin.token)).send(body);
  const verify = async (fromDigest?: string): Promise<Verified> =>
    (await get('/admin/audit/verify', fromDigest === undefined ? {} : { fromDigest }).expect(200)).body as Verified;
  const count = async (table: 'events' | 'audit_log'): Promise<number> =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

  const settled = (): Promise<void> => auditCaughtUp(sut, pool);

  const positionOf = (type: string, key: string): number => {
    const found = chain.find((e) => e.type === type && e.streamId === keyStreamId(keys[key]));
    if (!found) throw new Error(`no ${type} for ${key}`);
    return found.position;
  };
  const indexOf = (position: number): number => chain.findIndex((e) => e.position === position);

  /** Edits one audit row as the superuser, with the append-only trigger off, as an attacker who owns the table could. */
  async function editRow(sql: string, params: unknown[]): Promise<void> {
    edited = true;
    await withTriggerOff(pool, 'audit_log', 'audit_log_append_only', [[sql, params]]);
  }

  beforeAll(async () => {
    isolated = await openIsolatedApp();
    ({ pool, sut, admin } = isolated);
    for (const name of ['a1', 'a2']) {
      keys[name] = ((await act('post', '/admin/api-keys', { tenantId: A, name }).expect(201)).body as { id: string }).id;
    }
    await act('patch', `/admin/api-keys/${keys.a1}`, { name: 'a1, renamed' }).expect(200);
    await act('post', `/admin/api-keys/${keys.a2}/revoke`, { reason: 'leaked in a ticket' }).expect(200);
    await settled();
    const { rows } = await pool.query<{ position: string; type: string; stream_id: string }>(
      'SELECT e.global_position AS position, e.type, e.stream_id FROM events e ORDER BY e.transaction_id, e.global_position',
    );
    chain = rows.map((r) => ({ position: Number(r.position), type: r.type, streamId: r.stream_id }));
    intact = ((await get('/admin/audit/digest').expect(200)).body as { digest: string }).digest;
  }, SETUP_TIMEOUT);

  afterEach(async () => {
    if (!edited) return;
    // A rebuild derives every row from the events again: the honest log is back.
    await sut.app.get(ProjectionsService).rebuild('audit-log');
    await settled();
    edited = false;
    expect(await verify(intact)).toMatchObject({ ok: true, checkedEvents: chain.length, digest: { matches: true } });
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await isolated?.close();
  }, SETUP_TIMEOUT);

  it(
    'the database refuses UPDATE, DELETE and TRUNCATE on audit_log',
    async () => {
      const position = positionOf('key.created', 'a1');
      await expect(pool.query(`UPDATE audit_log SET actor_id = 'attacker' WHERE position = $1`, [position])).rejects.toThrow(
        /audit_log table is append-only: UPDATE/,
      );
      await expect(pool.query('DELETE FROM audit_log WHERE position = $1', [position])).rejects.toThrow(/append-only: DELETE/);
      await expect(pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only: TRUNCATE/);
      expect(await count('audit_log')).toBe(chain.length);
      expect(await verify(intact)).toMatchObject({ ok: true, digest: { matches: true } });
    },
    TIMEOUT,
  );

  it(
    'migration 0014 on a database that has audit rows: the projection derives them again, with the actor fields, and old digests still match',
    async () => {
      const before = ((await get('/admin/audit', { order: 'asc', limit: '1000' }).expect(200)).body as { items: { actor: unknown }[] })
        .items;
      await withTransaction(pool, async (client) => {
        const q = { query: (sql: string) => client.query(sql) } as unknown as QueryRunner;
        await new AuditActors1764000000014().down(q); // the table as the previous release had it…
        await new AuditActors1764000000014().up(q); // …and the upgrade
      });
      expect(await count('audit_log')).toBe(0);
      await settled();
      expect(await count('audit_log')).toBe(chain.length);
      const after = ((await get('/admin/audit', { order: 'asc', limit: '1000' }).expect(200)).body as { items: { actor: unknown }[] })
        .items;
      expect(after).toEqual(before);
      expect(after[1].actor).toEqual({ type: 'api-key', id: admin.id, publicId: expect.any(String), name: expect.any(String) });
      expect(await verify(intact)).toMatchObject({ ok: true, checkedEvents: chain.length, digest: { matches: true } });
    },
    SETUP_TIMEOUT,
  );

  // Before the edits: the last of them swaps in a table without triggers, which a rebuild keeps so.
  it(
    'a rebuild swaps in a new table with the same indexes, triggers, owner and grants; the rows are the same',
    async () => {
      const role = `keyledger_test_reader_${randomBytes(4).toString('hex')}`;
      await pool.query(`CREATE ROLE ${role}`);
      try {
        await pool.query(`GRANT SELECT ON audit_log TO ${role}`);
        const shape = async () =>
          (
            await pool.query<{ oid: number; owner: string; acl: string; indexes: string[]; triggers: string[] }>(
              `SELECT c.oid::int AS oid, c.relowner::regrole::text AS owner, c.relacl::text AS acl,
                    ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid ORDER BY 1) AS indexes,
                    ARRAY(SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal ORDER BY 1) AS triggers
             FROM pg_class c WHERE c.oid = 'audit_log'::regclass`,
            )
          ).rows[0];
        const constraints = async () =>
          (
            await pool.query<{ c: string }>(
              `SELECT conname || ' ' || pg_get_constraintdef(oid) AS c FROM pg_constraint WHERE conrelid = 'audit_log'::regclass ORDER BY 1`,
            )
          ).rows;
        const rows = async (): Promise<unknown[]> =>
          (await pool.query<Record<string, unknown>>('SELECT * FROM audit_log ORDER BY seq')).rows;
        const [before, constraintsBefore, rowsBefore] = [await shape(), await constraints(), await rows()];
        expect(before.indexes).toHaveLength(9);
        expect(before.triggers).toHaveLength(2);
        expect(before.acl).toContain(role);

        await sut.app.get(ProjectionsService).rebuild('audit-log');
        await settled();

        const after = await shape();
        expect(after.oid).not.toBe(before.oid);
        expect({ ...after, oid: 0 }).toEqual({ ...before, oid: 0 });
        expect(await constraints()).toEqual(constraintsBefore);
        expect(await rows()).toEqual(rowsBefore);
        expect((await pool.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'audit_log%rebuild'`)).rows[0].n).toBe(0);
        await expect(pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
        expect(await verify(intact)).toMatchObject({ ok: true, checkedEvents: chain.length, digest: { matches: true } });
      } finally {
        await pool.query(`REVOKE ALL ON audit_log FROM ${role}`);
        await pool.query(`DROP ROLE ${role}`);
      }
    },
    TIMEOUT,
  );

  it(
    'a rebuild waits for a long reader (an export) before it swaps, without holding up the queries that come meanwhile',
    async () => {
      // What an export does for as long as its client reads: hold audit_log (ACCESS SHARE) in an open transaction.
      const reader = await pool.connect();
      let rebuilt: Promise<void> | undefined;
      try {
        await reader.query('BEGIN');
        await reader.query('SELECT count(*) FROM audit_log');
        rebuilt = sut.app.get(ProjectionsService).rebuild('audit-log');
        // The rebuild has filled its table and asks for audit_log, in short attempts.
        for (let i = 0; ; i++) {
          const { rows } = await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'audit_log'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted`,
          );
          if (rows[0].n > 0) break;
          if (i > 3000) throw new Error('the rebuild never asked for audit_log');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        // A plain LOCK would queue every later query behind it until the reader ends. A bound, not a timing.
        const page = await get('/admin/audit', { limit: '1000' }).timeout(10_000);
        expect(page.status).toBe(200);
        expect((page.body as { items: unknown[] }).items).toHaveLength(chain.length);
      } finally {
        await reader.query('COMMIT');
        reader.release();
      }
      await rebuilt;
      await settled();
      expect(await verify(intact)).toMatchObject({ ok: true, checkedEvents: chain.length, digest: { matches: true } });
    },
    TIMEOUT,
  );

  describe('an edited audit row is reported at its position, as an edited event is', () => {
    const edits: [string, string, () => number, string][] = [
      ['actor_id', `SET actor_id = 'attacker'`, () => positionOf('key.created', 'a1'), 'actor_id'],
      ["the actor's name at the time", `SET actor_name = 'someone else'`, () => positionOf('key.created', 'a1'), 'actor_name'],
      ["the actor's publicId", `SET actor_public_id = NULL`, () => positionOf('key.revoked', 'a2'), 'actor_public_id'],
      ['reason', `SET reason = 'routine clean-up'`, () => positionOf('key.revoked', 'a2'), 'reason'],
      ['ip', `SET ip = '198.51.100.7'`, () => positionOf('key.updated', 'a1'), 'ip'],
      [
        'actor_type and user_agent together',
        `SET actor_type = 'system', user_agent = 'cron'`,
        () => positionOf('key.updated', 'a1'),
        'actor_type, user_agent',
      ],
      ['changes', `SET changes = '{}'`, () => positionOf('key.updated', 'a1'), 'changes'],
      ['the tenant', `SET tenant_id = 't-elsewhere'`, () => positionOf('key.revoked', 'a2'), 'tenant_id'],
      [
        'occurred_at by a second',
        `SET occurred_at = occurred_at - interval '1 second'`,
        () => positionOf('key.created', 'a2'),
        'occurred_at',
      ],
    ];

    it.each(edits)(
      '%s',
      async (_name, set, positionOfRow, columns) => {
        const position = positionOfRow();
        const { rows } = await pool.query<{ ip: string | null; reason: string | null }>(
          'SELECT ip, reason FROM audit_log WHERE position = $1',
          [position],
        );
        // The edit changes something the event does say.
        if (set.includes('ip =')) expect(rows[0].ip).not.toBeNull();
        if (set.includes('reason =')) expect(rows[0].reason).toBe('leaked in a ticket');
        await editRow(`UPDATE audit_log ${set} WHERE position = $1`, [position]);
        const reason = `the audit row differs from its event in ${columns} (edited)`;
        expect(await verify()).toEqual({
          ok: false,
          checkedEvents: indexOf(position),
          headPosition: indexOf(position) === 0 ? 0 : chain[indexOf(position) - 1].position,
          chainHash: expect.stringMatching(/^[0-9a-f]{64}$/),
          firstMismatch: { position, reason },
        });
        // A digest kept from before no longer vouches for the log.
        expect(await verify(intact)).toMatchObject({ ok: false, firstMismatch: { position, reason }, digest: { matches: false } });
      },
      TIMEOUT,
    );

    it(
      'also when the attacker swaps in a table of their own instead of editing rows (what a rebuild does)',
      async () => {
        const position = positionOf('key.revoked', 'a2');
        edited = true;
        await pool.query(`
        BEGIN;
        CREATE TABLE forged (LIKE audit_log INCLUDING ALL);
        INSERT INTO forged SELECT * FROM audit_log;
        UPDATE forged SET actor_id = 'someone-else', reason = 'expired anyway' WHERE position = ${position};
        DROP TABLE audit_log;
        ALTER TABLE forged RENAME TO audit_log;
        COMMIT`);
        expect(await verify(intact)).toMatchObject({
          ok: false,
          checkedEvents: indexOf(position),
          firstMismatch: { position, reason: 'the audit row differs from its event in actor_id, reason (edited)' },
          digest: { matches: false },
        });
      },
      TIMEOUT,
    );
  });

  describe('format=events-ndjson: an export that the outside verifier checks alone against a digest', () => {
    let dir: string;

    beforeAll(() => {
      dir = makeTestTempDir();
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /** The environment of a person who has the file and nothing else: no database address. */
    const offline = (): NodeJS.ProcessEnv => {
      const env = { ...process.env };
      for (const name of Object.keys(env)) if (/DATABASE|^PG/.test(name)) delete env[name];
      return env;
    };

    it(
      'holds every hashed event in chain order; the verifier checks the file against the digest, and a tampered line fails',
      async () => {
        const res = await download(sut, admin.token, { format: 'events-ndjson' });
        expect(res.status).toBe(200);
        expect(res.contentType).toBe('application/x-ndjson; charset=utf-8');
        expect(res.disposition).toMatch(/^attachment; filename="keyledger-audit-[0-9TZ-]+\.events\.ndjson"$/);
        const lines = res.text.split('\n');
        expect(lines.pop()).toBe('');
        expect(lines).toHaveLength(chain.length);
        const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(events.map((e) => e.position)).toEqual(chain.map((e) => e.position));
        expect(Object.keys(events[0])).toEqual([
          'eventId',
          'metadata',
          'payload',
          'position',
          'recordedAt',
          'schemaVersion',
          'streamId',
          'streamVersion',
          'type',
        ]);

        const file = join(dir, 'export.events.ndjson');
        await writeFile(file, res.text);
        const checked = await runVerifier(['--file', file, intact], offline());
        expect(checked).toMatchObject({ code: 0, stdout: [intact, `digest ${intact}: matches`] });
        expect(checked.stderr).toContain(`${chain.length} events`);

        // One field of one event changed in the file: the chain through the digest breaks.
        const target = indexOf(positionOf('key.revoked', 'a2'));
        const forged = [...lines];
        forged[target] = forged[target].replace('"reason":"leaked in a ticket"', '"reason":"routine clean-up"');
        expect(forged[target]).not.toBe(lines[target]);
        const tamperedFile = join(dir, 'tampered.events.ndjson');
        await writeFile(tamperedFile, `${forged.join('\n')}\n`);
        const tampered = await runVerifier(['--file', tamperedFile, intact], offline());
        expect(tampered.code).toBe(1);
        expect(tampered.stdout[1]).toMatch(/^digest .*: DOES NOT MATCH/);
        expect(tampered.stdout[0]).not.toBe(intact);

        // A line left out fails too.
        const shortFile = join(dir, 'short.events.ndjson');
        await writeFile(shortFile, `${lines.filter((_, i) => i !== 1).join('\n')}\n`);
        expect((await runVerifier(['--file', shortFile, intact], offline())).code).toBe(1);
        expect((await readFile(file, 'utf8')).length).toBe(res.text.length);
      },
      TIMEOUT,
    );

    it(
      "with a limit (the CLI's --limit), holds the first events of the chain: a prefix still checked against a digest of its last event",
      async () => {
        const stream = await sut.app.get(AuditExporter).open(SYSTEM_ACTOR, {}, 'events-ndjson', { limit: 2 });
        let text = '';
        for await (const chunk of stream) text += chunk as string;
        expect(
          text
            .split('\n')
            .slice(0, -1)
            .map((line) => (JSON.parse(line) as { position: number }).position),
        ).toEqual(chain.slice(0, 2).map((e) => e.position));
        const { rows } = await pool.query<{ position: string; chain_hash: Buffer }>(
          'SELECT position, chain_hash FROM audit_log WHERE seq = 2',
        );
        const second = `${rows[0].position}:${rows[0].chain_hash.toString('hex')}`;
        const file = join(dir, 'prefix.events.ndjson');
        await writeFile(file, text);
        expect(await runVerifier(['--file', file, second], offline())).toMatchObject({
          code: 0,
          stdout: [second, `digest ${second}: matches`],
        });
        expect((await runVerifier(['--file', file, intact], offline())).code).toBe(1);
      },
      TIMEOUT,
    );

    it(
      'is for admins only (the chain spans every tenant) and takes no filter',
      async () => {
        const reader = await issueUsableKey(sut, { tenantId: A, scopes: ['audit:read'] });
        const refused = await download(sut, reader.token, { format: 'events-ndjson' });
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.text)).toMatchObject({ statusCode: 403, code: 'AUDIT.EVENTS_EXPORT_FORBIDDEN' });
        const filtered = await download(sut, admin.token, { format: 'events-ndjson', tenantId: A });
        expect(filtered.status).toBe(400);
        expect(JSON.parse(filtered.text)).toMatchObject({ code: 'VALIDATION', details: [{ field: 'tenantId' }] });
      },
      TIMEOUT,
    );
  });
});
