import { Pool } from 'pg';
import request, { type Response } from 'supertest';
import { encodeCursor } from '../../src/common/index.js';
import { ExpirySweeper } from '../../src/keys/index.js';
import { cliJson, cliOk, lines, CLI_TEST_TIMEOUT } from '../cli/cli-helpers.js';
import { createTestApp, issueKey, type TestApp } from '../support/test-app.js';
import { testPool } from '../support/test-database.js';
import { auditSettled, download, parseCsv, SETUP_TIMEOUT, TIMEOUT, type AuditEntry } from './helpers.js';
import { bearer, expectValidationError } from '../support/http.js';
import { uniqueTenant } from '../support/keys.js';

interface Actor {
  type: string | null;
  id: string | null;
  publicId: string | null;
  name: string | null;
}

interface HistoryItem {
  type: string;
  version: number;
  position: number;
  actor: Actor | null;
  reason: string | null;
  changes: Record<string, { from: unknown; to: unknown }>;
}

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Issue 16, history, audit and actors: /admin/api-keys/:id/events and /admin/audit are one model
 * (the same `{from, to}` changes for the same event, `order` on both, opaque cursors), and an
 * actor is shown everywhere with its type, id, publicId and the name it had when it acted.
 */
describe('history and audit: one model, actors with their name at the time', () => {
  let sut: TestApp;
  let pool: Pool;
  const T = uniqueTenant();
  let admin: { id: string; publicId: string; token: string };
  let keyId: string;
  let swept: string;
  const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const movedTo = new Date(Date.now() + 60 * 86_400_000).toISOString();

  const as = (token: string) => ({
    get: (path: string, query: Record<string, string | number> = {}) => request(sut.url).get(path).query(query).set(bearer(token)),
    send: (method: 'post' | 'patch', path: string, body: Record<string, unknown> = {}) =>
      request(sut.url)[method](path).set(bearer(token)).send(body),
  });
  const api = () => as(admin.token);
  const history = async (query: Record<string, string | number> = {}, id = keyId): Promise<Page<HistoryItem>> =>
    (await api().get(`/admin/api-keys/${id}/events`, query).expect(200)).body as Page<HistoryItem>;
  const audit = async (query: Record<string, string | number>): Promise<Page<AuditEntry>> =>
    (await api().get('/admin/audit', query).expect(200)).body as Page<AuditEntry>;
  const rename = (name: string) => api().send('patch', `/admin/api-keys/${admin.id}`, { name }).expect(200);

  /** Every page, following nextCursor; `between` runs after each page (new events arriving). */
  async function walk<T>(
    fetch: (cursor?: string) => Promise<Page<T>>,
    between: () => Promise<void> = () => Promise.resolve(),
  ): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const body = await fetch(cursor);
      items.push(...body.items);
      if (body.nextCursor === null) return items;
      expect(body.nextCursor).not.toMatch(/^\d+$/); // opaque, not a bare number
      cursor = body.nextCursor;
      await between();
    }
    throw new Error('too many pages');
  }

  beforeAll(async () => {
    pool = testPool();
    sut = await createTestApp();
    admin = await issueKey(sut.app, { tenantId: T, name: 'ops, before', scopes: ['admin'] });
    keyId = (
      (
        await api()
          .send('post', '/admin/api-keys', { tenantId: T, name: 'billing', scopes: ['invoices:read'], expiresAt })
          .expect(201)
      ).body as { id: string }
    ).id;
    await rename('ops, after');
    await api().send('post', `/admin/api-keys/${keyId}/rotate`, { gracePeriodSeconds: 3600, expiresAt: movedTo }).expect(200);
    await api()
      .send('patch', `/admin/api-keys/${keyId}`, { scopes: ['invoices:read', 'invoices:write'] })
      .expect(200);
    await api().send('post', `/admin/api-keys/${keyId}/revoke`, { reason: 'left the company' }).expect(200);
    // Its name today is neither: the history must not join on it.
    await rename('ops, today');
    // The expiry sweeper's own actor, on a key whose expiry has passed (the time is the contract here).
    const ends = Date.now() + 500;
    swept = (await issueKey(sut.app, { tenantId: T, name: 'short-lived', expiresAt: new Date(ends) })).id;
    await new Promise((resolve) => setTimeout(resolve, ends - Date.now() + 20));
    await sut.app.get(ExpirySweeper).sweep();
    await auditSettled(sut, pool, [keyId, admin.id, swept]);
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await sut.close();
    await pool.end();
  });

  it(
    'gives the same change shape and actor for the same event on both endpoints',
    async () => {
      const events = (await history()).items;
      const entries = (await audit({ keyId, order: 'asc' })).items;
      expect(entries.map((e) => e.position)).toEqual(events.map((e) => e.position));
      for (const [i, event] of events.entries()) {
        expect(entries[i].changes).toEqual(event.changes);
        expect(entries[i].actor).toEqual(event.actor);
        expect(entries[i].reason).toEqual(event.reason);
        for (const change of Object.values(event.changes)) expect(Object.keys(change).sort()).toEqual(['from', 'to']);
      }
      expect(events.map((e) => [e.type, e.changes])).toEqual([
        [
          'key.created',
          {
            name: { from: null, to: 'billing' },
            scopes: { from: null, to: ['invoices:read'] },
            tags: { from: null, to: {} },
            expiresAt: { from: null, to: expiresAt },
          },
        ],
        // The rotate names the expiry it moved from, not only where it went.
        ['key.rotated', { graceEndsAt: { from: null, to: expect.any(String) }, expiresAt: { from: expiresAt, to: movedTo } }],
        ['key.updated', { scopes: { from: ['invoices:read'], to: ['invoices:read', 'invoices:write'] } }],
        ['key.revoked', { status: { from: 'active', to: 'revoked' } }],
      ]);
      expect(events[3].reason).toBe('left the company');
    },
    TIMEOUT,
  );

  it(
    "names the acting key by its type, id, publicId and the name its own events gave it then, not today's",
    async () => {
      const events = (await history()).items;
      const actor = (name: string): Actor => ({ type: 'api-key', id: admin.id, publicId: admin.publicId, name });
      expect(events.map((e) => e.actor)).toEqual([actor('ops, before'), actor('ops, after'), actor('ops, after'), actor('ops, after')]);
      // A key acting on itself is named as it was before the event.
      const own = (await history({}, admin.id)).items;
      expect(own.map((e) => e.actor)).toEqual([
        { type: 'system', id: 'system', publicId: null, name: null },
        actor('ops, before'),
        actor('ops, after'),
      ]);
      // The expiry sweeper is a system actor that says which part of keyledger acted.
      const sweep = (await history({}, swept)).items.find((e) => e.type === 'key.expired');
      expect(sweep).toMatchObject({
        actor: { type: 'system', id: 'system:expiry-sweeper', publicId: null, name: null },
        reason: 'ttl',
        changes: { status: { from: 'active', to: 'expired' } },
      });
      expect((await audit({ keyId: swept, type: 'key.expired' })).items[0].actor).toEqual(sweep!.actor);
    },
    TIMEOUT,
  );

  it(
    'reads /events oldest first and /audit newest first by default, and either in the other order',
    async () => {
      const versions = (await history()).items.map((e) => e.version);
      expect(versions).toEqual([1, 2, 3, 4]);
      expect((await history({ order: 'desc' })).items.map((e) => e.version)).toEqual([4, 3, 2, 1]);
      const newest = (await audit({ keyId })).items.map((e) => e.seq);
      expect(newest).toEqual([...newest].sort((a, b) => b - a));
      expect((await audit({ keyId, order: 'asc' })).items.map((e) => e.seq)).toEqual([...newest].reverse());
    },
    TIMEOUT,
  );

  it('pages both with opaque cursors, with no duplicate and no gap while new events arrive', async () => {
    const busy = (await api().send('post', '/admin/api-keys', { tenantId: T, name: 'busy-0' }).expect(201)).body as { id: string };
    let renames = 0;
    const arrive = async (): Promise<void> => {
      renames++;
      await api()
        .send('patch', `/admin/api-keys/${busy.id}`, { name: `busy-${renames}` })
        .expect(200);
    };
    for (let i = 0; i < 3; i++) await arrive();
    const before = (await history({}, busy.id)).items.length;
    // Oldest first, two at a time, an event arriving between pages: the walk reaches the new ones too.
    let during = 0;
    const asc = await walk(
      (cursor) => history({ limit: 2, ...(cursor ? { cursor } : {}) }, busy.id),
      async () => {
        during++;
        await arrive();
      },
    );
    expect(during).toBeGreaterThan(0);
    expect(asc.map((e) => e.version)).toEqual(Array.from({ length: before + during }, (_, i) => i + 1));
    // Newest first: exactly what there was when the walk began, however many arrive meanwhile.
    const total = asc.length;
    const desc = await walk((cursor) => history({ order: 'desc', limit: 2, ...(cursor ? { cursor } : {}) }, busy.id), arrive);
    expect(desc.map((e) => e.version)).toEqual(Array.from({ length: total }, (_, i) => total - i));

    await auditSettled(sut, pool, [busy.id]);
    const inLog = (await audit({ keyId: busy.id, order: 'asc', limit: 1000 })).items.length;
    const auditAsc = await walk(
      (cursor) => audit({ keyId: busy.id, order: 'asc', limit: 2, ...(cursor ? { cursor } : {}) }),
      async () => {
        await arrive();
        await auditSettled(sut, pool, [busy.id]);
      },
    );
    const seqs = auditAsc.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs.length).toBeGreaterThan(inLog); // it reached events that arrived during the walk
    const everything = (await audit({ keyId: busy.id, order: 'asc', limit: 1000 })).items.map((e) => e.seq);
    expect(everything.slice(0, seqs.length)).toEqual(seqs); // no gap
    const auditDesc = await walk((cursor) => audit({ keyId: busy.id, limit: 3, ...(cursor ? { cursor } : {}) }), arrive);
    expect(auditDesc.map((e) => e.seq)).toEqual([...everything].reverse());
  }, 60_000);

  describe('refuses a cursor it did not return for that list and order with a 400 in the one error shape', () => {
    let auditCursor: string;
    let eventsCursor: string;
    let keysCursor: string;

    beforeAll(async () => {
      auditCursor = (await audit({ keyId, limit: 1 })).nextCursor!;
      eventsCursor = (await history({ limit: 1 })).nextCursor!;
      keysCursor = ((await api().get('/admin/api-keys', { tenantId: T, status: 'all', limit: 1 }).expect(200)).body as Page<unknown>)
        .nextCursor!;
    }, TIMEOUT);

    const tamper = (cursor: string): string => {
      const [body, sum] = cursor.split('.');
      const json = Buffer.from(body, 'base64url')
        .toString('utf8')
        .replace(/\d(?=\D*$)/, (d) => String((Number(d) + 1) % 10));
      return `${Buffer.from(json).toString('base64url')}.${sum}`;
    };

    /** Cursors a list of `kind`, read in `order`, must refuse; `valid` is one it returned. */
    const bad = (kind: string, order: 'asc' | 'desc', valid: () => string): [string, () => string][] => [
      ['garbage', () => 'not a cursor'],
      ['a bare number (the old audit cursor)', () => '42'],
      ['base64 without its checksum', () => valid().split('.')[0]],
      ['an edited position', () => tamper(valid())],
      [
        'a checksum of another cursor',
        () => `${valid().split('.')[0]}.${(valid() === auditCursor ? eventsCursor : auditCursor).split('.')[1]}`,
      ],
      ['well-formed values of the wrong type', () => encodeCursor(kind, order, ['x'])],
      ['a negative position', () => encodeCursor(kind, order, [-1])],
      ['a position past any integer', () => encodeCursor(kind, order, [1e300])],
      ['two positions', () => encodeCursor(kind, order, [1, 2])],
      ['non-ASCII', () => 'é✓.😀'],
      ['longer than any cursor', () => 'A'.repeat(201)],
    ];

    it.each(bad('audit', 'desc', () => auditCursor))(
      '/admin/audit: %s',
      async (_name, cursor) => {
        expectValidationError(await api().get('/admin/audit', { keyId, cursor: cursor() }), 'cursor');
      },
      TIMEOUT,
    );

    it.each(bad('events', 'asc', () => eventsCursor))(
      '/events: %s',
      async (_name, cursor) => {
        expectValidationError(await api().get(`/admin/api-keys/${keyId}/events`, { cursor: cursor() }), 'cursor');
      },
      TIMEOUT,
    );

    it(
      'a cursor of another list, or of the other order',
      async () => {
        const refused = async (res: Promise<Response>): Promise<void> => expectValidationError(await res, 'cursor');
        await refused(api().get('/admin/audit', { keyId, cursor: eventsCursor }));
        await refused(api().get('/admin/audit', { keyId, cursor: keysCursor }));
        await refused(api().get('/admin/audit', { keyId, cursor: auditCursor, order: 'asc' }));
        await refused(api().get(`/admin/api-keys/${keyId}/events`, { cursor: auditCursor }));
        await refused(api().get(`/admin/api-keys/${keyId}/events`, { cursor: eventsCursor, order: 'desc' }));
        await refused(api().get('/admin/api-keys', { tenantId: T, status: 'all', cursor: auditCursor }));
        await refused(api().get('/admin/api-keys', { tenantId: T, status: 'all', cursor: tamper(keysCursor) }));
        await refused(api().get('/admin/api-keys', { tenantId: T, activeAt: new Date().toISOString(), cursor: keysCursor }));
        // …and the ones it did return work.
        await api().get('/admin/audit', { keyId, cursor: auditCursor }).expect(200);
        await api().get(`/admin/api-keys/${keyId}/events`, { cursor: eventsCursor }).expect(200);
        await api().get('/admin/api-keys', { tenantId: T, status: 'all', cursor: keysCursor }).expect(200);
      },
      TIMEOUT,
    );

    it(
      'a bad order or limit on /events',
      async () => {
        expectValidationError(await api().get(`/admin/api-keys/${keyId}/events`, { order: 'sideways' }), 'order');
        expectValidationError(await api().get(`/admin/api-keys/${keyId}/events`, { limit: 1001 }), 'limit');
        expectValidationError(await api().get('/admin/audit', { order: 'up' }), 'order');
      },
      TIMEOUT,
    );
  });

  it(
    'exports the same actor fields as CSV and NDJSON',
    async () => {
      const entries = (await audit({ keyId, order: 'asc' })).items;
      const ndjson = await download(sut, admin.token, { keyId, format: 'ndjson' });
      expect(ndjson.status).toBe(200);
      const parsed = ndjson.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEntry);
      expect(parsed.reverse()).toEqual(entries);
      const csv = parseCsv((await download(sut, admin.token, { keyId, format: 'csv' })).text);
      const [header, ...rows] = csv;
      const column = (name: string) => header.indexOf(name);
      for (const name of ['actorType', 'actorId', 'actorPublicId', 'actorName', 'changes']) expect(column(name)).toBeGreaterThanOrEqual(0);
      const byPosition = new Map(rows.map((r) => [Number(r[column('position')]), r]));
      for (const entry of entries) {
        const row = byPosition.get(entry.position)!;
        expect([row[column('actorType')], row[column('actorId')], row[column('actorPublicId')], row[column('actorName')]]).toEqual([
          entry.actor.type,
          entry.actor.id,
          entry.actor.publicId,
          entry.actor.name,
        ]);
        expect(JSON.parse(row[column('changes')])).toEqual(entry.changes);
      }
      expect(entries[0].actor.name).toBe('ops, before');
    },
    TIMEOUT,
  );

  it(
    'names the actor in a refusal log line with its type, id, publicId and name',
    async () => {
      const other = uniqueTenant();
      const manager = await issueKey(sut.app, { tenantId: other, name: 'tenant manager', scopes: ['keys:manage'] });
      await as(manager.token).send('post', `/admin/api-keys/${keyId}/rotate`).set('x-request-id', 'actor-log-404').expect(404);
      const line = sut.logs
        .map((l) => /^\w+ (\{.*\})(?:\s+\S+)?\s*$/.exec(l)?.[1])
        .filter((l) => l !== undefined)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.requestId === 'actor-log-404');
      expect(line).toMatchObject({
        event: 'access.refused',
        actor: manager.publicId,
        actorType: 'api-key',
        actorId: manager.id,
        actorName: 'tenant manager',
      });
    },
    TIMEOUT,
  );

  it(
    'documents both 200 responses in OpenAPI: one actor schema, the change shape, order and cursor',
    async () => {
      type Schema = {
        $ref?: string;
        allOf?: Schema[];
        properties?: Record<string, Schema>;
        additionalProperties?: Schema;
        required?: string[];
        items?: Schema;
      };
      type Operation = { parameters: { name: string }[]; responses: Record<string, { content?: Record<string, { schema: Schema }> }> };
      const doc = (await request(sut.url).get('/docs-json').expect(200)).body as {
        paths: Record<string, { get: Operation }>;
        components: { schemas: Record<string, Schema> };
      };
      const resolve = (schema: Schema): Schema => {
        const one = schema.allOf?.[0] ?? schema;
        return one.$ref ? doc.components.schemas[one.$ref.split('/').pop()!] : one;
      };
      const itemOf = (path: string): Schema => {
        const operation = doc.paths[path].get;
        expect(operation.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['order', 'limit', 'cursor']));
        const page = resolve(operation.responses['200'].content!['application/json'].schema);
        expect(Object.keys(page.properties!).sort()).toEqual(['items', 'nextCursor']);
        return resolve(page.properties!.items.items!);
      };
      const event = itemOf('/admin/api-keys/{id}/events');
      const entry = itemOf('/admin/audit');
      for (const item of [event, entry]) {
        expect(Object.keys(resolve(item.properties!.actor).properties!).sort()).toEqual(['id', 'name', 'publicId', 'type']);
        expect(item.properties!.changes.additionalProperties!.required).toEqual(['from', 'to']);
      }
    },
    TIMEOUT,
  );

  it(
    'shows the same actor fields in the CLI: JSON and tables',
    async () => {
      const shown = await cliJson<{ history: HistoryItem[] }>(['keys', 'show', keyId, '--json']);
      expect(shown.history).toEqual((await history()).items);
      const logged = await cliJson<AuditEntry[]>(['audit', '--key', keyId, '--json']);
      expect(logged).toEqual((await audit({ keyId })).items);
      const table = lines((await cliOk(['keys', 'show', keyId])).stdout);
      expect(table.find((l) => l.includes('key.created'))).toContain(`ops, before (${admin.publicId})`);
      expect(table.find((l) => l.includes('key.revoked'))).toContain(`ops, after (${admin.publicId})`);
      const auditTable = lines((await cliOk(['audit', '--key', swept])).stdout);
      expect(auditTable.find((l) => l.includes('key.expired'))).toContain('system:expiry-sweeper');
    },
    CLI_TEST_TIMEOUT,
  );
});
