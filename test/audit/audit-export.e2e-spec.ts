import type { Pool } from 'pg';
import { get } from 'node:http';
import type { Readable } from 'node:stream';
import request from 'supertest';
import { AuditExporter } from '../../src/audit/index.js';
import { EXPORT_COLUMNS, EXPORT_FIELDS, exportText } from '../../src/audit/export/export-format.js';
import { copyOutBinary } from '@keyledger/nestjs/internal';
import { toErrorBody } from '../../src/common/index.js';
import { EventStore } from '../../src/event-store/index.js';
import { KeyRepository, SYSTEM_ACTOR } from '../../src/keys/index.js';
import { freePort } from '../support/free-port.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { auditSettled, download, parseCsv, walkAudit, type AuditEntry, SETUP_TIMEOUT, TIMEOUT } from './helpers.js';
import { bearer } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';
import { eventually } from '../support/poll.js';
import { awkwardEntry, AWKWARD_TEXTS, SAMPLE_ENTRY, textColumns } from '../support/audit-entries.js';

const CSV_HEADER = [
  'seq',
  'position',
  'recordedAt',
  'occurredAt',
  'type',
  'keyId',
  'publicId',
  'tenantId',
  'actorType',
  'actorId',
  'actorPublicId',
  'actorName',
  'requestId',
  'ip',
  'userAgent',
  'reason',
  'reasonCode',
  'changes',
  'chainHash',
];

const HISTORY = 4_000;
const TRICKY_REASON = 'leaked, twice: "prod" and "staging",\r\nsee ticket #42';
const FORMULA_REASON = '=HYPERLINK("http://evil.example","click")';
// Everything PostgreSQL's COPY text format escapes, and its NULL marker as text.
const COPY_REASON = 'back\\slash, \\N, tab\there, bell\u0007, form\ffeed';

interface Key {
  id: string;
  publicId: string;
  token: string;
}

describe('GET /admin/audit/export (NDJSON and CSV)', () => {
  let sut: TestApp;
  let pool: Pool;
  let admin: Key;
  let reader: Key;
  const E = uniqueTenant();
  const keys: Key[] = [];

  const act = (method: 'post' | 'patch', path: string, body: Record<string, unknown> = {}) =>
    request(sut.url)[method](path).set(bearer(admin.token)).set('user-agent', 'export, "quoted" agent').send(body);

  beforeAll(async () => {
    sut = await createTestApp();
    pool = testPool(2);
    admin = await issueKey(sut.app, { scopes: ['admin'] });
    reader = await issueKey(sut.app, { tenantId: E, scopes: ['audit:read'] });
    const deadline = Date.now() + 10_000;
    while ((await request(sut.url).get('/admin/audit').query({ limit: 1 }).set(bearer(admin.token))).status === 401) {
      if (Date.now() > deadline) throw new Error('admin key never became usable');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const name of ['plain', 'with, a comma', 'with "quotes"', 'ünïcødé ✓ 🔑', '-starts with a dash']) {
      const res = await act('post', '/admin/api-keys', { tenantId: E, name, tags: { note: 'a,b;"c"' } }).expect(201);
      keys.push({ id: res.body.id, publicId: res.body.publicId, token: res.body.key });
    }
    await act('post', `/admin/api-keys/${keys[0].id}/revoke`, { reason: TRICKY_REASON }).expect(200);
    await act('post', `/admin/api-keys/${keys[1].id}/revoke`, { reason: FORMULA_REASON }).expect(200);
    await act('post', `/admin/api-keys/${keys[2].id}/rotate`, { gracePeriodSeconds: 30 }).expect(200);
    await act('patch', `/admin/api-keys/${keys[3].id}`, { tags: { env: 'prod,eu' } }).expect(200);
    await act('post', `/admin/api-keys/${keys[4].id}/revoke`, { reason: COPY_REASON }).expect(200);
    await auditSettled(
      sut,
      pool,
      [reader, ...keys].map((k) => k.id),
    );
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  const filters: [string, () => Record<string, string>][] = [
    ['tenantId', () => ({ tenantId: E })],
    ['tenantId + type', () => ({ tenantId: E, type: 'key.revoked' })],
    ['keyId', () => ({ keyId: keys[2].id })],
    ['tenantId + actorId + range', () => ({ tenantId: E, actorId: admin.id, from: '2000-01-01T00:00:00Z', to: '2999-01-01T00:00:00Z' })],
    ['nothing matches', () => ({ tenantId: E, type: 'key.expired' })],
  ];

  it.each(filters)(
    'NDJSON has exactly the rows the query returns, in its order (%s)',
    async (_name, filterOf) => {
      const filter = filterOf();
      const items = await walkAudit(sut, admin.token, filter, 3);
      const res = await download(sut, admin.token, { ...filter, format: 'ndjson' });
      expect(res.status).toBe(200);
      expect(res.contentType).toBe('application/x-ndjson; charset=utf-8');
      expect(res.disposition).toMatch(/^attachment; filename="keyledger-audit-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.ndjson"$/);
      const lines = res.text === '' ? [] : res.text.replace(/\n$/, '').split('\n');
      expect(lines).toHaveLength(items.length);
      expect(lines.map((line) => JSON.parse(line) as AuditEntry)).toEqual(items);
      if (items.length > 0) expect(res.text.endsWith('\n')).toBe(true);
    },
    TIMEOUT,
  );

  it.each(filters)(
    'CSV has a header and exactly the rows the query returns (%s)',
    async (_name, filterOf) => {
      const filter = filterOf();
      const items = await walkAudit(sut, admin.token, filter);
      const res = await download(sut, admin.token, { ...filter, format: 'csv' });
      expect(res.status).toBe(200);
      expect(res.contentType).toBe('text/csv; charset=utf-8');
      expect(res.disposition).toMatch(/^attachment; filename="keyledger-audit-[0-9TZ-]+\.csv"$/);
      const [header, ...rows] = parseCsv(res.text);
      expect(header).toEqual(CSV_HEADER);
      expect(rows).toHaveLength(items.length);
      for (const [i, row] of rows.entries()) {
        expect(row).toHaveLength(CSV_HEADER.length);
        const cell = (name: string) => row[CSV_HEADER.indexOf(name)];
        expect(Number(cell('seq'))).toBe(items[i].seq);
        expect(Number(cell('position'))).toBe(items[i].position);
        expect(cell('type')).toBe(items[i].type);
        expect(cell('recordedAt')).toBe(items[i].recordedAt);
        expect(cell('chainHash')).toBe(items[i].chainHash);
        expect(JSON.parse(cell('changes'))).toEqual(items[i].changes);
        expect([cell('actorType'), cell('actorId'), cell('actorPublicId') || null, cell('actorName') || null]).toEqual(
          Object.values(items[i].actor),
        );
      }
    },
    TIMEOUT,
  );

  it(
    'CSV keeps commas, quotes and line breaks inside a field, and disarms spreadsheet formulas',
    async () => {
      const res = await download(sut, admin.token, { tenantId: E, type: 'key.revoked', format: 'csv' });
      const [header, ...rows] = parseCsv(res.text);
      const reasons = rows.map((r) => r[header.indexOf('reason')]);
      expect(reasons).toEqual([COPY_REASON, `'${FORMULA_REASON}`, TRICKY_REASON]);
      expect(rows.map((r) => r[header.indexOf('userAgent')])).toEqual(Array(3).fill('export, "quoted" agent'));
      const created = parseCsv((await download(sut, admin.token, { tenantId: E, type: 'key.created', format: 'csv' })).text);
      const names = created.slice(1).map((r) => (JSON.parse(r[header.indexOf('changes')]) as { name: { to: string } }).name.to);
      expect(names.sort()).toEqual(['-starts with a dash', 'plain', 'test key', 'with "quotes"', 'with, a comma', 'ünïcødé ✓ 🔑'].sort());
    },
    TIMEOUT,
  );

  it(
    'defaults to NDJSON',
    async () => {
      const res = await download(sut, admin.token, { tenantId: E });
      expect(res.contentType).toBe('application/x-ndjson; charset=utf-8');
      expect(res.text.trim().split('\n')).toHaveLength((await walkAudit(sut, admin.token, { tenantId: E })).length);
    },
    TIMEOUT,
  );

  it(
    'an audit:read key exports its own tenant only',
    async () => {
      const own = await download(sut, reader.token, { format: 'ndjson' });
      expect(own.status).toBe(200);
      const entries = own.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEntry);
      expect(entries).toEqual(await walkAudit(sut, admin.token, { tenantId: E }));
      const other = await download(sut, reader.token, { tenantId: uniqueTenant(), format: 'csv' });
      expect(other.status).toBe(403);
      expect(other.contentType).toMatch(/^application\/json/);
    },
    TIMEOUT,
  );

  it(
    'reads back every character COPY escapes, in both formats',
    async () => {
      const [ndjson] = (await download(sut, admin.token, { keyId: keys[4].id, type: 'key.revoked' })).text.trim().split('\n');
      expect((JSON.parse(ndjson) as AuditEntry).reason).toBe(COPY_REASON);
      const [header, row] = parseCsv((await download(sut, admin.token, { keyId: keys[4].id, type: 'key.revoked', format: 'csv' })).text);
      expect(row[header.indexOf('reason')]).toBe(COPY_REASON);
    },
    TIMEOUT,
  );

  // The lines are assembled from COPY's text fields (docs/adr/0007-audit-export-format.md): this
  // checks them byte for byte against JSON.stringify with what the real PostgreSQL sends.
  it(
    'writes each NDJSON line as JSON.stringify writes the entry, for any text a column holds (changes in jsonb spacing)',
    async () => {
      const client = await pool.connect();
      try {
        // A temporary audit_log of the same shape hides the real one for this transaction only.
        // Binary COPY sends times as instants: neither the session's zone nor its DateStyle shows in the export.
        await client.query(`BEGIN; SET LOCAL TimeZone TO 'Asia/Kolkata'; SET LOCAL DateStyle TO 'German, DMY'`);
        await client.query('CREATE TEMP TABLE audit_log (LIKE public.audit_log INCLUDING DEFAULTS) ON COMMIT DROP');
        const entries = ['plain', ...AWKWARD_TEXTS].map((text, i) =>
          awkwardEntry({ ...SAMPLE_ENTRY, seq: i + 1, position: 1000 + i, occurredAt: '2026-11-24T09:59:59.000Z' }, text, i),
        );
        for (const e of entries) {
          await client.query(
            `INSERT INTO audit_log (seq, position, recorded_at, occurred_at, stream_id, event_type, key_id, public_id, tenant_id, actor_type,
             actor_id, actor_public_id, actor_name, request_id, ip, user_agent, reason, reason_code, changes, chain_hash)
           VALUES ($1, $2, '2026-11-24 10:00:00.123999+00', '2026-11-24 11:59:59+02', 's', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, decode($17, 'hex'))`,
            [e.seq, e.position, ...textColumns(e), e.changes, e.chainHash],
          );
        }
        const jsonb = (await client.query<{ text: string }>('SELECT changes::text AS text FROM audit_log ORDER BY seq')).rows;
        let out = '';
        for await (const text of exportText(
          'ndjson',
          copyOutBinary(client, `SELECT ${EXPORT_COLUMNS} FROM audit_log ORDER BY seq`, EXPORT_FIELDS),
        )) {
          out += text;
        }
        expect(out).toBe(
          entries.map((e, i) => `${JSON.stringify({ ...e, changes: 0 }).replace('"changes":0', `"changes":${jsonb[i].text}`)}\n`).join(''),
        );
        expect(jsonb[0].text).toContain('": '); // jsonb's spacing, as docs/audit.md says
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    },
    TIMEOUT,
  );

  it(
    'refuses a filter that can only be a mistake with a 400 before the download starts',
    async () => {
      for (const [query, field] of [
        [{ tenantId: 'a\u0000b' }, 'tenantId'],
        [{ tenantId: 'with space' }, 'tenantId'],
        [{ actorId: 'cli:\u0007' }, 'actorId'],
      ] as const) {
        const res = await download(sut, admin.token, query);
        expect(res.status).toBe(400);
        expect(res.contentType).toMatch(/^application\/json/);
        expect(JSON.parse(res.text)).toMatchObject({ statusCode: 400, code: 'VALIDATION', details: [expect.objectContaining({ field })] });
      }
    },
    TIMEOUT,
  );

  describe('a long export', () => {
    let long: { id: string };

    // The connections of this key's exports (other files export in parallel): their COPY names the key.
    const connections = async () =>
      (
        await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'keyledger-audit-export' AND strpos(query, $1) > 0`,
          [long.id],
        )
      ).rows[0].n;

    beforeAll(async () => {
      // A key with a long history (4,000 renames in one append, ~3 MB of export): far more than
      // the 16 chunks an export stream buffers ahead of a reader that stops taking them.
      long = await issueKey(sut.app, { tenantId: uniqueTenant() });
      const repository = sut.app.get(KeyRepository);
      const key = await repository.load(long.id);
      for (let i = 1; i <= HISTORY; i++) key.update({ name: `renamed ${i} `.padEnd(120, '.') }, new Date());
      await repository.save(key, { actor: SYSTEM_ACTOR, requestId: 'export-cap-test' });
      await auditSettled(sut, pool, [long.id], 30_000);
    }, SETUP_TIMEOUT);

    it('caps concurrent exports per instance (429), and a finished or abandoned export frees its place and its connection', async () => {
      const exporter = sut.app.get(AuditExporter);
      const open: Readable[] = [];
      for (let i = 0; i < sut.config.auditExportConcurrency; i++) {
        open.push(await exporter.open(SYSTEM_ACTOR, { keyId: long.id }, 'ndjson'));
      }
      const busy = await download(sut, admin.token, { tenantId: E });
      expect(busy.status).toBe(429);
      expect(JSON.parse(busy.text)).toMatchObject({ statusCode: 429, code: 'AUDIT.EXPORTS_BUSY' });

      // One is read to its end, one abandoned after its first chunk, the rest never started.
      let text = '';
      for await (const chunk of open[0]) text += chunk as string;
      expect(text.trim().split('\n')).toHaveLength(HISTORY + 1);
      const iterator = open[1][Symbol.asyncIterator]();
      await iterator.next();
      expect(await connections()).toBe(1);
      await iterator.return?.();
      for (const stream of open.slice(2)) stream.destroy();
      await eventually("the export's database connection to close", async () => expect(await connections()).toBe(0));
      expect((await download(sut, admin.token, { tenantId: E })).status).toBe(200);

      // Over HTTP: a client that hangs up after the first bytes leaves no connection behind.
      await new Promise<void>((resolve, reject) => {
        const req = get(`${sut.url}/admin/audit/export?keyId=${long.id}`, { headers: bearer(admin.token) }, (res) => {
          expect(res.statusCode).toBe(200);
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
      });
      await eventually("the export's database connection to close", async () => expect(await connections()).toBe(0));
    }, 60_000);

    it(
      'fails an export whose reader takes nothing for idleTimeoutMs (HTTP: AUDIT_EXPORT_IDLE_TIMEOUT_MS), freeing its place and connection',
      async () => {
        const exporter = sut.app.get(AuditExporter);
        const stream = await exporter.open(SYSTEM_ACTOR, { keyId: long.id }, 'ndjson', { idleTimeoutMs: 200 });
        const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
        // Take one chunk, then stall: the stream fills its buffer and the COPY waits for this reader.
        const iterator = stream[Symbol.asyncIterator]();
        await iterator.next();
        expect(await connections()).toBe(1);
        expect((await failed).message).toMatch(/took nothing for 200 ms/);
        await eventually("the export's database connection to close", async () => expect(await connections()).toBe(0));
        // Its place is free again: as many exports as the cap allows can start.
        const next = await Promise.all(
          Array.from({ length: sut.config.auditExportConcurrency }, () => exporter.open(SYSTEM_ACTOR, { keyId: long.id }, 'ndjson')),
        );
        for (const s of next) s.destroy();
        expect(sut.config.auditExportIdleTimeoutMs).toBe(60_000); // the HTTP default
      },
      TIMEOUT,
    );
  });

  it(
    'answers 503 when the database is out of reach, and the failed export keeps no place',
    async () => {
      const port = await freePort(); // nothing listens there
      const unreachable = new AuditExporter(
        `postgres://keyledger@127.0.0.1:${port}/keyledger`,
        { ...sut.config, auditExportConcurrency: 1 },
        sut.app.get(EventStore),
      );
      for (let i = 0; i < 2; i++) {
        // With a place kept, the second attempt would be a 429.
        const refused = unreachable.open(SYSTEM_ACTOR, { tenantId: E }, 'ndjson');
        await expect(refused).rejects.toMatchObject({ status: 503 });
        // As the HTTP response gives it: the usual shape, a code and a message a person can act on.
        const error: unknown = await refused.catch((e: unknown) => e);
        expect(toErrorBody(error)).toEqual({
          statusCode: 503,
          code: 'SERVICE_UNAVAILABLE',
          message: 'The audit export could not reach the database; retry in a moment',
        });
      }
    },
    TIMEOUT,
  );

  it(
    'no plaintext key and no secret hash reaches an export',
    async () => {
      const { rows } = await pool.query<{ payload: Record<string, unknown> }>(
        'SELECT payload FROM events WHERE stream_id = ANY($1::text[])',
        [keys.map((k) => `key-${k.id}`)],
      );
      const hashes = rows
        .flatMap((r) => [r.payload.secretHash, r.payload.previousSecretHash])
        .filter((h): h is string => typeof h === 'string');
      expect(hashes.length).toBeGreaterThanOrEqual(keys.length + 1);
      for (const format of ['csv', 'ndjson']) {
        const { text } = await download(sut, admin.token, { tenantId: E, format });
        for (const secret of [...hashes, ...keys.map((k) => k.token)]) expect(text).not.toContain(secret);
      }
    },
    TIMEOUT,
  );
});
